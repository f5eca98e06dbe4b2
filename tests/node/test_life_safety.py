"""Life safety before evidence, on the real daemon (`edge run` on mock pins, tests/node/
pinned.py), real mosquitto and a police subscriber: in every state of its evidence files the
node starts, its siren sounds for smoke at once, and the smoke alarm reaches the police at
once, or within 2 s of the file becoming usable again. Each state is reported (log, STATUS=,
heartbeat) naming the file."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Subscribe
from pinned import SIREN, PinnedNode, smoke_node
from signingkey import write_signing_key

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey
from edge.evidence.verify import verify_log

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SIREN_S = 1.0
"""The siren follows the smoke input within this (it is driven before storage: ms)."""
POLICE_S = 2.0
"""The contract: the alarm reaches the police within 2 s (of the file becoming usable)."""
START_S = 60.0


def _smoke_at(police: Subscriber) -> float | None:
    """When the first smoke event reached the police."""
    for m in list(police.messages):
        if m.topic.endswith("/events") and m.json()["kind"] == "smoke":
            return m.at
    return None


def _health(police: Subscriber) -> list[dict[str, Any]]:
    return [m.json() for m in list(police.messages) if m.topic.endswith("/health")]


def _start(tmp: Path, text: str) -> PinnedNode:
    config = tmp / "node.toml"
    config.write_text(text)
    node = PinnedNode(config).start()
    assert node.wait_status("running", START_S), node.tail()
    return node


def _siren(node: PinnedNode) -> float:
    """Smoke now: the siren is on within SIREN_S; returns when the smoke began."""
    at = node.smoke()
    on = node.wait_on(SIREN, at, 10)
    assert on is not None and on - at < SIREN_S, node.tail()
    return at


def _reaches_police(node: PinnedNode, police: Subscriber, since: float) -> None:
    """The smoke alarm reaches the police within POLICE_S of *since*."""
    assert police.wait_for(lambda _m: _smoke_at(police) is not None, 10), node.tail()
    arrived = _smoke_at(police)
    assert arrived is not None and arrived - since < POLICE_S


def test_damaged_audit_log_is_set_aside_and_the_node_runs(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """A record damaged before the last line (then a write cut short): the log is set aside
    as audit.log.damaged-*, a new chain records it with the last good head, the heartbeat,
    STATUS= and the log name it, and smoke sounds and reaches the police at once."""
    text = smoke_node(tmp_path / "data", "aud-1", broker, ca, node_cert)
    cfg = loads(text)
    audit = AuditLog(cfg.audit_path, signer=NodeKey(cfg.key_path))
    for n in range(20):
        audit.append("delivered", "event", f"e{n}", "police", "0" * 64)
    lines = cfg.audit_path.read_bytes().splitlines(keepends=True)
    good = verify_log(cfg.audit_path)
    damaged = lines[-2][:40] + b"X" * 20 + lines[-2][60:]
    cfg.audit_path.write_bytes(b"".join([*lines[:-2], damaged, lines[-1][:-30]]))
    police = subscribe("warehouse/safe/aud-1/#", client_id="aud-1-watch")
    node = _start(tmp_path, text)
    try:
        _reaches_police(node, police, _siren(node))
        kept = list(cfg.audit_path.parent.glob("audit.log.damaged-*"))
        assert len(kept) == 1
        reason = f"audit_log_set_aside:{kept[0]}"
        assert node.wait_status(reason, 10), node.status_lines()
        assert police.wait_for(lambda _m: any(reason in h["reasons"] for h in _health(police)), 10)
        logged = node.records("audit.set_aside")
        assert logged and logged[0]["kept_as"] == str(kept[0]) and logged[0]["level"] == "error"
        records = [json.loads(x) for x in cfg.audit_path.read_text().splitlines()]
        aside = next(r for r in records if r["action"] == "log_set_aside")
        assert aside["kept_as"] == kept[0].name
        assert aside["good_records"] == good.records - 2  # all but the damaged and the torn
        assert aside["good_head"] == json.loads(lines[-3])["hash"]
        assert verify_log(cfg.audit_path).ok
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def test_missing_key_sounds_at_once_holds_the_alarm_on_disk_and_sends_it_when_back(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """No signing key: the node runs (STATUS and log name the key), smoke sounds the siren at
    once and nothing unsigned leaves; killed (SIGKILL) and started again, still keyless,
    the held alarm is still there; the key restored, the alarm reaches the police within
    2 s, signed (its heartbeat names the key again)."""
    text = smoke_node(tmp_path / "data", "key-1", broker, ca, node_cert)
    cfg = loads(text)
    saved = tmp_path / "key-backup.pem"
    shutil.move(cfg.key_path, saved)
    police = subscribe("warehouse/safe/key-1/#", client_id="key-1-watch")
    node = _start(tmp_path, text)
    try:
        reason = f"signing_key_unusable:{cfg.key_path}"
        assert node.wait_status(reason, 10), node.status_lines()
        degraded = node.records("node.degraded")
        assert degraded and str(cfg.key_path) in degraded[0]["problem"]
        _siren(node)
        assert node.wait_record("event.held_for_key", 10)
        node.kill()  # a power cut while the alarm waits for the key
        node.start()
        assert node.wait_status(reason, START_S), node.tail()
        time.sleep(1.5)  # two housekeeping rounds: still keyless, nothing may leave
        assert _smoke_at(police) is None
        assert not _health(police)  # an unsigned heartbeat would be quarantined: none sent
        state = json.loads((cfg.data_dir / "state" / "status.json").read_text())
        assert reason in state["health"]["reasons"]  # `edge status` says it all the same
        shutil.copy(saved, cfg.key_path)
        _reaches_police(node, police, time.time())
        key_id = NodeKey(cfg.key_path).id
        assert police.wait_for(lambda _m: any(h["key_id"] == key_id for h in _health(police)), 10)
        assert node.wait_record("event.held_released", 5)
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def test_swapped_key_is_used_recorded_and_reported(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """Another Ed25519 key in the key's place: the node runs and signs with it (the alarm
    reaches the police at once), the audit chain records the change (key_change, old and
    new id) and the heartbeat reports it."""
    text = smoke_node(tmp_path / "data", "swap-1", broker, ca, node_cert)
    cfg = loads(text)
    old = NodeKey(cfg.key_path).id
    cfg.key_path.unlink()
    new = NodeKey(write_signing_key_into(cfg.key_path)).id
    police = subscribe("warehouse/safe/swap-1/#", client_id="swap-1-watch")
    node = _start(tmp_path, text)
    try:
        _reaches_police(node, police, _siren(node))
        records = [json.loads(x) for x in cfg.audit_path.read_text().splitlines()]
        change = [r for r in records if r["action"] == "key_change"]
        assert change and change[0]["old_key_id"] == old and change[0]["new_key_id"] == new
        reason = f"audit_key_change:{new}"
        assert police.wait_for(lambda _m: any(reason in h["reasons"] for h in _health(police)), 10)
        assert all(h["key_id"] == new for h in _health(police))
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def write_signing_key_into(path: Path) -> Path:
    """A new Ed25519 key at *path* (its directory exists)."""
    made = write_signing_key(path.parent / "new")
    shutil.move(made, path)
    return path
