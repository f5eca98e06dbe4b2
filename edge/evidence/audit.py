"""An append-only, hash-chained log of everything shared: what, to which destination, when,
and its hash. Each record carries the hash of the one before it, so any edit, deletion,
insertion or reordering breaks the chain at the first record concerned; signed checkpoints
(``edge.evidence.chain``) make a recomputed chain show too.

One JSON object per line: ``{"seq", "time", "action", "kind", "id", "destination",
"sha256", "prev", "hash"}`` (and fields of the action) where ``hash`` is sha256 over the
canonical record without it.

A torn last line (the write cut short by a crash or a full disk) is found at start, moved to
``audit.log.torn-<UTC stamp>`` and recorded as a ``torn_tail`` record, so the node starts.
Damage anywhere else is not repaired: :class:`AuditLogError`.

After every checkpoint the signed head is kept beside the log (``audit.head``,
:mod:`edge.evidence.headstate`). At start a log found missing, emptied or cut short of that
head, and a signing key other than the last one, are recorded in the chain (``chain_break``,
``key_change``: :mod:`edge.evidence.continuity`), logged and kept in :attr:`AuditLog.breaks`
for the heartbeat; the node starts all the same. Records a previous run left unsigned are
signed at start.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from edge.core.errors import EvidenceError
from edge.core.logs import get_logger
from edge.evidence.chain import (
    CHECKPOINT,
    CHECKPOINT_EVERY,
    GENESIS,
    checkpoint_message,
    record_hash,
    record_line,
)
from edge.evidence.continuity import Notice, find_break, key_change
from edge.evidence.headstate import HeadState, HeadStateError, read_state, state_path, write_state
from edge.evidence.keys import public_pem
from edge.evidence.signing import Signer
from edge.evidence.tail import AuditLogError, read_tail
from edge.evidence.verify import AuditCheck, verify_log

__all__ = [
    "CHECKPOINT_EVERY",
    "GENESIS",
    "AuditCheck",
    "AuditLog",
    "AuditLogError",
    "Notice",
    "record_hash",
    "verify_log",
]

log = get_logger(__name__)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of *data* (a short write on a full disk is followed by ENOSPC)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


def _write_new(path: Path, data: bytes) -> None:
    """Write *data* to the new file *path*, durably (removed again if that fails)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    _fsync_dir(path.parent)


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


class AuditLog:
    """Appends records durably (fsync) and keeps the chain head in memory.

    With a *signer* (or once :meth:`checkpoint` was given one) it signs a checkpoint of the
    head every *checkpoint_every* records, and keeps the signed head beside the log. A record
    that cannot be written whole (a full disk) raises ``OSError`` and leaves nothing of
    itself in the file. *clock* gives record times (Unix seconds)."""

    def __init__(
        self,
        path: Path,
        signer: Signer | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.state_path = state_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._signer = signer
        self._clock = clock
        self.checkpoint_every = checkpoint_every
        self.breaks: list[Notice] = []
        """Chain breaks and key changes found since the log was opened (heartbeat reasons)."""
        tail = read_tail(path)
        state = self._read_state()
        self._seq, self._head = tail.seq, tail.head
        self._since_checkpoint = tail.since_checkpoint
        self._key_id = tail.key_id or (state.key_id if state is not None else None)
        self._torn_at, self._torn_reason = tail.torn_at, tail.torn_reason
        self._notes: list[tuple[str, str, dict[str, object]]] = []
        """Records owed to the chain (torn_tail, chain_break), written before the next one."""
        found = find_break(tail, state, self.state_path.name)
        if found is not None:
            log.error("audit.chain_break", path=str(path), problem=found.message, **found.fields)
            self.breaks.append(found)
            self._notes.append((found.action, str(found.fields["expected_head"]), found.fields))
        with self._lock:
            try:
                self._settle()
                if signer is not None and self._since_checkpoint > 0:
                    self._checkpoint(signer)  # what the last run left unsigned
            except OSError as e:  # a full disk: retried before the next record
                torn = self._torn_at is not None or any(n[0] == "torn_tail" for n in self._notes)
                log.error(
                    "audit.torn_tail_pending" if torn else "audit.start_pending",
                    path=str(path),
                    error=e.strerror or str(e),
                    note="recorded before the next record",
                )

    @property
    def head(self) -> str:
        """Hash of the newest record (published with health so truncation shows too)."""
        return self._head

    @property
    def reasons(self) -> tuple[str, ...]:
        """Heartbeat reasons for what :attr:`breaks` holds (``audit_chain_break:FOUND``,
        ``audit_key_change:NEW_KEY_ID``), for as long as this process runs."""
        return tuple(dict.fromkeys(n.reason for n in self.breaks))

    def append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        **extra: object,
    ) -> dict[str, object]:
        """Append one record; returns it. Raises ``OSError`` when it cannot be stored."""
        with self._lock:
            self._settle()
            record = self._append(action, kind, item_id, destination, sha256, extra=extra)
            if (
                self._signer is not None
                and action != CHECKPOINT
                and self._since_checkpoint >= self.checkpoint_every
            ):
                try:
                    self._checkpoint(self._signer)
                except OSError as e:  # the record itself is stored: report that
                    log.error("audit.checkpoint_failed", path=str(self.path), error=str(e))
            return record

    def checkpoint(self, signer: Signer | None = None) -> dict[str, object] | None:
        """Sign the current head (the node calls this at every heartbeat); *signer* also
        signs every ``checkpoint_every`` records from now on. Returns the checkpoint record,
        or None when there is nothing new to sign or it could not be written (logged: a
        heartbeat must go out on a full disk too)."""
        with self._lock:
            if signer is not None:
                self._signer = signer
            if self._signer is None:
                raise EvidenceError(f"{self.path}: no key to sign audit checkpoints with")
            try:
                self._settle()
                if self._since_checkpoint == 0:
                    return None  # the newest record is a checkpoint, or there is none
                return self._checkpoint(self._signer)
            except OSError as e:
                log.error("audit.checkpoint_failed", path=str(self.path), error=str(e))
                return None

    def _read_state(self) -> HeadState | None:
        try:
            return read_state(self.state_path)
        except HeadStateError as e:  # not a reason to stop: rewritten at the next checkpoint
            log.error("audit.head_state_unreadable", path=str(self.state_path), error=str(e))
            return None

    # -- under the lock ---------------------------------------------------------------------

    def _checkpoint(self, signer: Signer) -> dict[str, object]:
        when = round(self._clock(), 3)
        signature = signer.sign(checkpoint_message(self._head, self._seq, when, signer.id))
        fields = {
            "head": self._head,
            "head_seq": self._seq,
            "key_id": signer.id,
            "alg": "Ed25519",
            "signature": base64.b64encode(signature).decode(),
        }
        record = self._append(
            CHECKPOINT, "audit", str(self._seq), None, self._head, extra=fields, when=when
        )
        self._key_id = signer.id
        self._keep_state(when)
        return record

    def _keep_state(self, when: float) -> None:
        """Write the head state beside the log (a failure is logged: the record is stored)."""
        try:
            write_state(self.state_path, HeadState(self._seq, self._head, self._key_id, when))
        except OSError as e:
            log.error("audit.head_state_failed", path=str(self.state_path), error=str(e))

    def _append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        *,
        extra: Mapping[str, object],
        when: float | None = None,
    ) -> dict[str, object]:
        seq = self._seq + 1
        record: dict[str, object] = {
            "seq": seq,
            "time": round(self._clock(), 3) if when is None else when,
            "action": action,
            "kind": kind,
            "id": item_id,
            "destination": destination,
            "sha256": sha256,
            **extra,
            "prev": self._head,
        }
        digest = record["hash"] = record_hash(record)
        self._write(record_line(record))
        self._seq, self._head = seq, digest
        self._since_checkpoint = 0 if action == CHECKPOINT else self._since_checkpoint + 1
        return record

    def _write(self, data: bytes) -> None:
        """Append *data* whole and fsync it, or leave the file as it was and raise."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            start = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except OSError:
                self._undo(fd, start)
                raise
        finally:
            os.close(fd)

    def _undo(self, fd: int, start: int) -> None:
        """Cut a half-written record off again; if even that fails, it is a torn tail to move
        aside before the next record."""
        try:
            os.ftruncate(fd, start)
            os.fsync(fd)
        except OSError as e:
            self._torn_at, self._torn_reason = start, "incomplete"
            log.error("audit.undo_failed", path=str(self.path), at=start, error=str(e))

    def _settle(self) -> None:
        """Before the next record: move a torn tail aside, write the records owed (torn_tail,
        chain_break), and record a key change before the new key signs."""
        if self._torn_at is not None:
            self._move_torn(self._torn_at, self._torn_reason or "incomplete")
        while self._notes:
            action, digest, note = self._notes[0]
            self._append(action, "audit", str(note.get("kept_as", note.get("expected_seq"))),
                         None, digest, extra=note)  # fmt: skip
            self._notes.pop(0)
            if action != "torn_tail":
                self._keep_state(round(self._clock(), 3))  # a restart must not find it again
        signer = self._signer
        if signer is not None and signer.id and self._key_id and signer.id != self._key_id:
            public = getattr(signer, "public", None)
            pem = public_pem(public) if public is not None else None
            digest = hashlib.sha256(pem.encode()).hexdigest() if pem else self._head
            notice = key_change(self._key_id, signer.id, pem, self._seq)
            self._append(notice.action, "key", signer.id, None, digest, extra=notice.fields)
            log.warning("audit.key_change", path=str(self.path), problem=notice.message,
                        seq=self._seq, **notice.fields)  # fmt: skip
            self.breaks.append(notice)
            self._key_id = signer.id

    def _move_torn(self, at: int, reason: str) -> None:
        with self.path.open("rb") as f:
            f.seek(at)
            torn = f.read()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        side = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        n = 1
        while side.exists():
            side = self.path.with_name(f"{self.path.name}.torn-{stamp}-{n}")
            n += 1
        _write_new(side, torn)
        os.truncate(self.path, at)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._torn_at = self._torn_reason = None
        kept = _count_lines(self.path)
        lines = torn.count(b"\n") + (0 if torn.endswith(b"\n") else 1)
        log.error(
            "audit.torn_tail",
            path=str(self.path),
            kept_as=str(side),
            reason=reason,
            bytes=len(torn),
            lines=lines,
            kept_lines=kept,
            after_seq=self._seq,
        )
        note = {"kept_as": side.name, "reason": reason, "bytes": len(torn), "lines": lines}
        self._notes.insert(
            0, ("torn_tail", hashlib.sha256(torn).hexdigest(), {**note, "kept_lines": kept})
        )
