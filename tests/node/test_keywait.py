"""The parts of running without a signing key, one by one: the key slot (empty, why, found
later), events held on disk in order (a torn last line skipped), released signed once the key
is back, and the audit log taking the key (a different key recorded as a change)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from signingkey import write_signing_key

from edge.core.kinds import Kind, Severity, State
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey, SigningKeyError
from edge.evidence.keyslot import KeySlot
from edge.node.degraded import Degraded
from edge.node.keywait import HeldEvents, KeyGate, KeyWatch


class Store:
    """An event store that records what it stored (the outbox's part)."""

    def __init__(self) -> None:
        self.stored: list[Event] = []

    def store_event(self, event: Event) -> Sequence[str]:
        self.stored.append(event)
        return ["police"]


def _smoke(factory: EventFactory, n: int) -> Event:
    return factory.make(Kind.SMOKE, Severity.CRITICAL, State.START, f"o{n}", sensor="smoke",
                        data={"n": n})  # fmt: skip


def test_the_slot_says_why_there_is_no_key_and_finds_it_later(tmp_path: Path) -> None:
    """Missing, readable by others, not Ed25519: no key, the reason names the file and signing
    raises; the key put right, poll finds it once and signing works."""
    path = tmp_path / "keys" / "node-ed25519.pem"
    slot = KeySlot(path)
    assert not slot.usable and slot.id == "" and str(path) in (slot.problem or "")
    with pytest.raises(SigningKeyError, match="no usable signing key"):
        slot.sign(b"x")
    made = write_signing_key(tmp_path, mode=0o644)
    assert made == path
    assert slot.poll() is None and "chmod 600" in (slot.problem or "")
    os.chmod(path, 0o600)
    key = slot.poll()
    assert key is not None and slot.usable and slot.id == NodeKey(path).id
    assert slot.poll() is None  # found once
    key.public.verify(slot.sign(b"x"), b"x")


def test_events_are_held_in_order_on_disk_and_released_signed_once_the_key_is_back(
    tmp_path: Path,
) -> None:
    """Without a key every event is held (fsync'd JSON lines, 0600), none is stored; a held
    file read again after a crash gives the same events (a torn last line skipped); the key
    back, they are stored oldest first, before a newer one, and the file goes."""
    factory = EventFactory("n1", "s1")
    path = tmp_path / "keys" / "node-ed25519.pem"
    slot, store = KeySlot(path), Store()
    held_path = tmp_path / "held-events.jsonl"
    gate = KeyGate(store, slot, HeldEvents(held_path))
    events = [_smoke(factory, n) for n in range(3)]
    for e in events:
        assert gate.store_event(e) == ()
    assert store.stored == [] and held_path.stat().st_mode & 0o777 == 0o600
    with held_path.open("ab") as f:
        f.write(b'{"kind": "smo')  # a write cut short by a crash
    again = HeldEvents(held_path)
    assert [e.to_json() for e in again.read()] == [e.to_json() for e in events]
    assert len(again) == 3
    gate = KeyGate(store, slot, again)
    assert gate.release() == 0  # still no key
    write_signing_key(tmp_path)
    assert slot.poll() is not None
    newer = _smoke(factory, 9)
    gate.store_event(newer)  # behind the held ones
    assert [e.id for e in store.stored] == []
    assert gate.release() == 4
    assert [e.id for e in store.stored] == [*(e.id for e in events), newer.id]
    assert not held_path.exists() and len(gate.held) == 0
    gate.store_event(_smoke(factory, 10))
    assert len(store.stored) == 5  # straight through now


def test_the_watch_reports_the_missing_key_and_the_audit_log_records_a_new_one(
    tmp_path: Path,
) -> None:
    """At start without a key the node is degraded naming the key's file; a key other than the
    one that signed the chain last, once found, is recorded (key_change) before it signs the
    chain's checkpoint, and the reason clears."""
    data = tmp_path / "data"
    first = write_signing_key(data)
    audit_path = data / "audit.log"
    before = AuditLog(audit_path)
    before.append("delivered", "event", "e1", "police", "0" * 64)
    before.checkpoint(NodeKey(first))
    old_id = NodeKey(first).id
    shutil.move(first, tmp_path / "lost.pem")
    slot = KeySlot(first)
    audit = AuditLog(audit_path, signer=slot.key)
    degraded = Degraded()
    watch = KeyWatch(slot, audit, KeyGate(Store(), slot, HeldEvents(data / "held.jsonl")), degraded)
    assert degraded.reasons() == [f"signing_key_unusable:{first}"]
    write_signing_key(tmp_path / "other")
    shutil.move(tmp_path / "other" / "keys" / "node-ed25519.pem", first)
    watch.check()
    assert degraded.reasons() == []
    records = [json.loads(x) for x in audit_path.read_text().splitlines()]
    change = next(r for r in records if r["action"] == "key_change")
    assert change["old_key_id"] == old_id and change["new_key_id"] == slot.id
    assert records[-1]["action"] == "checkpoint" and records[-1]["key_id"] == slot.id
