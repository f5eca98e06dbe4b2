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
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.core.errors import EvidenceError
from edge.core.logs import get_logger
from edge.evidence.chain import (
    CHECKPOINT,
    GENESIS,
    Signer,
    checkpoint_message,
    parse_line,
    record_hash,
    record_line,
)
from edge.evidence.verify import AuditCheck, verify_log

__all__ = ["GENESIS", "AuditCheck", "AuditLog", "AuditLogError", "record_hash", "verify_log"]

log = get_logger(__name__)

CHECKPOINT_EVERY = 100
"""Records between two signed checkpoints (besides the one at every heartbeat)."""
TAIL_BYTES = 65536
"""How much of the log's end is read at a time at start."""


class AuditLogError(EvidenceError):
    """The audit log is damaged beyond a torn last line: restore it, never repair it."""


@dataclass(frozen=True)
class _Tail:
    """What start-up needs from the end of the log."""

    seq: int
    head: str
    since_checkpoint: int
    torn_at: int | None = None
    """Offset of a torn last line, if there is one."""
    torn_reason: str | None = None


def _last_lines(path: Path, size: int) -> list[bytes]:
    """The last lines of the file (at least two, or all of them), the last one possibly
    without its newline."""
    pos, buf = size, b""
    with path.open("rb") as f:
        while pos > 0 and (not buf or buf[:-1].count(b"\n") < 2):
            step = min(TAIL_BYTES, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
    pieces = buf.split(b"\n")
    lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    return lines[1:] if pos > 0 else lines  # the first may start mid-line


def _since_checkpoint(lines: list[bytes]) -> int:
    """Records after the last checkpoint among *lines* (all of them if there is none)."""
    for n, raw in enumerate(reversed(lines)):
        try:
            if json.loads(raw).get("action") == CHECKPOINT:
                return n
        except (ValueError, AttributeError):
            continue
    return len(lines)


def _read_tail(path: Path) -> _Tail:
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return _Tail(0, GENESIS, 0)
    lines = _last_lines(path, size)
    rec, why = parse_line(lines[-1])
    torn_at = None
    if why is not None:  # a torn last line: the record before it must be whole
        torn_at = size - len(lines[-1])
        lines = lines[:-1]
        if torn_at == 0:
            return _Tail(0, GENESIS, 0, torn_at, why)
        rec, before = parse_line(lines[-1]) if lines else (None, "unreadable")
        if before is not None:
            raise AuditLogError(
                f"{path}: the audit log is damaged before its last line ({before} in the line "
                f"ending at byte {torn_at}): not a torn write, so the node will not repair it; "
                f"restore it from backup (edge audit verify {path} shows where it breaks)"
            )
    assert rec is not None
    try:
        seq = int(rec["seq"])
    except (TypeError, ValueError) as e:
        raise AuditLogError(f"{path}: last audit record has no usable seq: {e}") from e
    return _Tail(seq, str(rec["hash"]), _since_checkpoint(lines), torn_at, why)


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
    head every *checkpoint_every* records. A record that cannot be written whole (a full
    disk) raises ``OSError`` and leaves nothing of itself in the file."""

    def __init__(
        self, path: Path, signer: Signer | None = None, checkpoint_every: int = CHECKPOINT_EVERY
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._signer = signer
        self.checkpoint_every = checkpoint_every
        tail = _read_tail(path)
        self._seq, self._head = tail.seq, tail.head
        self._since_checkpoint = tail.since_checkpoint
        self._torn_at, self._torn_reason = tail.torn_at, tail.torn_reason
        self._torn_note: tuple[str, dict[str, Any]] | None = None
        if self._torn_at is not None:
            with self._lock:
                try:
                    self._settle()
                except OSError as e:
                    log.error(
                        "audit.torn_tail_pending",
                        path=str(path),
                        error=e.strerror or str(e),
                        note="moved aside before the next record",
                    )

    @property
    def head(self) -> str:
        """Hash of the newest record (published with health so truncation shows too)."""
        return self._head

    def append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        **extra: Any,
    ) -> dict[str, Any]:
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

    def checkpoint(self, signer: Signer | None = None) -> dict[str, Any] | None:
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

    # -- under the lock ---------------------------------------------------------------------

    def _checkpoint(self, signer: Signer) -> dict[str, Any]:
        when = round(time.time(), 3)
        signature = signer.sign(checkpoint_message(self._head, self._seq, when, signer.id))
        fields = {
            "head": self._head,
            "head_seq": self._seq,
            "key_id": signer.id,
            "alg": "Ed25519",
            "signature": base64.b64encode(signature).decode(),
        }
        return self._append(
            CHECKPOINT, "audit", str(self._seq), None, self._head, extra=fields, when=when
        )

    def _append(
        self,
        action: str,
        kind: str,
        item_id: str,
        destination: str | None,
        sha256: str,
        *,
        extra: dict[str, Any],
        when: float | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "seq": self._seq + 1,
            "time": round(time.time(), 3) if when is None else when,
            "action": action,
            "kind": kind,
            "id": item_id,
            "destination": destination,
            "sha256": sha256,
            **extra,
            "prev": self._head,
        }
        record["hash"] = record_hash(record)
        self._write(record_line(record))
        self._seq, self._head = record["seq"], record["hash"]
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
        """Finish a torn-tail recovery: move the torn bytes aside, then record it."""
        if self._torn_at is not None:
            self._move_torn(self._torn_at, self._torn_reason or "incomplete")
        if self._torn_note is not None:
            digest, note = self._torn_note
            self._append("torn_tail", "audit", note["kept_as"], None, digest, extra=note)
            self._torn_note = None

    def _move_torn(self, at: int, reason: str) -> None:
        with self.path.open("rb") as f:
            f.seek(at)
            torn = f.read()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
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
        self._torn_note = (hashlib.sha256(torn).hexdigest(), {**note, "kept_lines": kept})
