"""Events raised while the node has no usable signing key wait on disk for it.

Every message the node sends is signed (``edge.evidence.signing``); the receiver quarantines
anything unsigned or signed by a key it does not know. So without its key the node signs
nothing and sends nothing it cannot sign, but it stops nothing either: sensors, cameras,
sirens and the status lamp run, each event is acted on locally at once (the siren hears of
it before storage) and is then kept, in order, in ``held-events.jsonl`` beside the outbox
(one JSON line each, fsync'd before it counts as accepted, mode 0600). Once the key is
there again (looked for every second), the held events are stored in the outbox, signed,
oldest first, before anything newer, and delivered as usual. A SIGKILL or a power cut
meanwhile loses none of them: the file is read again at the next start.

Heartbeats cannot be signed either: the node skips them (it writes its state file for
``edge status`` as usual), so the receiver sees it go silent (``node_offline``). Snapshots
taken meanwhile stay in the clip store, unsent; clips cannot be signed and are not kept
(``clip.failed`` naming the key).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge.core.errors import EdgeError
from edge.core.kinds import Kind, Severity, State
from edge.core.logs import get_logger
from edge.events.model import Event
from edge.events.sink import EventStore
from edge.evidence.audit import AuditLog
from edge.evidence.keyslot import KeySlot
from edge.node.degraded import Degraded

log = get_logger(__name__)

HELD_NAME = "held-events.jsonl"


def _event_line(event: Event) -> bytes:
    body = {**event.to_dict(), "ts": event.ts}  # the exact time, not only its ISO form
    return (json.dumps(body, separators=(",", ":"), sort_keys=True) + "\n").encode()


def _event_of(d: dict[str, Any]) -> Event:
    return Event(
        kind=Kind(d["kind"]),
        severity=Severity(d["severity"]),
        state=State(d["state"]),
        node=d["node"],
        site=d["site"],
        ts=float(d["ts"]),
        occurrence=d["occurrence"],
        camera=d.get("camera"),
        sensor=d.get("sensor"),
        zones=tuple(d.get("zones") or ()),
        incident=d.get("incident"),
        clock_synced=bool(d.get("clock_synced")),
        mask_hash=d.get("mask_hash"),
        clip_id=d.get("clip_id"),
        snapshot_id=d.get("snapshot_id"),
        data=dict(d.get("data") or {}),
        id=d["id"],
    )


class HeldEvents:
    """The file of events waiting for the signing key, oldest first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cut_torn()
        self._count = len(self.read()) if path.exists() else 0

    def __len__(self) -> int:
        return self._count

    def _cut_torn(self) -> None:
        """A last line without its newline (a write cut short by a crash) is cut off, so the
        next event starts a line of its own; it was never reported as accepted."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            os.truncate(self.path, keep)
            log.warning("event.held_torn_cut", path=str(self.path), bytes=len(data) - keep)

    def add(self, event: Event) -> None:
        """Append *event* durably; raises ``OSError`` when it cannot, leaving nothing of it
        in the file."""
        line = _event_line(event)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            start = os.fstat(fd).st_size
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)
        self._count += 1

    def read(self) -> list[Event]:
        """The held events; a line cut short by a crash, or one that cannot be read back,
        is logged and skipped (it was never reported as accepted: its write did not end)."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        out = []
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                out.append(_event_of(json.loads(raw)))
            except (ValueError, KeyError, TypeError) as e:
                log.error("event.held_unreadable", path=str(self.path), line=n, error=str(e))
        return out

    def clear(self) -> None:
        """Everything held was stored: the file goes."""
        self.path.unlink(missing_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._count = 0


class KeyGate:
    """An ``EventStore`` in front of the outbox's: events go through while the node has its
    key and nothing is held; otherwise they are held (in order) until :meth:`release`."""

    def __init__(self, store: EventStore, slot: KeySlot, held: HeldEvents) -> None:
        self.store = store
        self.slot = slot
        self.held = held
        self._lock = threading.Lock()
        self._failing = False

    def store_event(self, event: Event) -> Sequence[str]:
        """Store *event* signed, or hold it for the key (returns no destinations then)."""
        with self._lock:
            if self.slot.usable and not len(self.held):
                return self.store.store_event(event)
            self.held.add(event)
        log.warning("event.held_for_key", id=event.id, kind=str(event.kind), held=len(self.held))
        return ()

    def release(self) -> int:
        """With the key: store the held events, oldest first (an id already stored is not
        stored twice); returns how many. A storage failure (a full disk) leaves them held
        for the next try, logged once until it clears."""
        with self._lock:
            if not self.slot.usable or not len(self.held):
                return 0
            events = self.held.read()
            try:
                for event in events:
                    self.store.store_event(event)
                self.held.clear()
            except (EdgeError, OSError, sqlite3.Error) as e:
                if not self._failing:
                    log.error("event.held_store_failed", held=len(events), error=str(e))
                self._failing = True
                return 0
            self._failing = False
        log.info("event.held_released", events=len(events))
        return len(events)


class KeyWatch:
    """Reports a missing key at start, looks for it every second (a housekeeping chore),
    hands it to the audit log once found (which records a change of key itself, before the
    new key signs: ``key_change``) and releases the events held for it."""

    def __init__(self, slot: KeySlot, audit: AuditLog, gate: KeyGate, degraded: Degraded) -> None:
        self.slot, self.audit, self.gate, self.degraded = slot, audit, gate, degraded
        if not slot.usable:
            degraded.set(
                "signing_key",
                f"signing_key_unusable:{slot.path}",
                path=str(slot.path),
                problem=slot.problem,
                held=len(gate.held),
                note="alarms sound locally; events are held on disk until the key is back",
            )

    def sign_head(self) -> bool:
        """At a heartbeat: sign the audit head with the key; False without one (then nothing
        may be signed or sent: an unsigned heartbeat would be quarantined)."""
        if self.slot.key is None:
            return False
        self.audit.checkpoint(self.slot.key)
        return True

    def snapshots(self, send: Callable[[str, str, Path], None]) -> Callable[[str, str, Path], None]:
        """*send* (queue a saved snapshot, signed) while there is a key; without one the
        snapshot stays in the clip store, unsent (logged)."""

        def signed_only(snap_id: str, camera: str, path: Path) -> None:
            if not self.slot.usable:
                log.warning("snapshot.unsent", id=snap_id, camera=camera, reason="no signing key")
                return
            send(snap_id, camera, path)

        return signed_only

    def check(self) -> None:
        """Housekeeping: look for a missing key; once found, sign the audit chain with it
        and store what waited for it. Never raises (the next round tries again)."""
        try:
            key = self.slot.poll()
            if key is not None:
                self.degraded.clear("signing_key", path=str(self.slot.path), key_id=key.id)
                self.audit.checkpoint(key)
            self.gate.release()
        except Exception:
            log.exception("keywait.failed", path=str(self.slot.path))
