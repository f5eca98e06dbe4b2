"""What the audit log's writer needs from the end of the log at start: the last record (seq,
hash), how many records follow the last checkpoint, which key signed last, and a torn last
line if there is one. The file is read backwards, block by block, back to the newest
checkpoint (at most :data:`MAX_SCAN` bytes), so start-up costs the same for any log size."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from edge.core.errors import EvidenceError
from edge.evidence.chain import CHECKPOINT, GENESIS, parse_line

TAIL_BYTES = 65536
"""How much of the log's end is read at a time."""
MAX_SCAN = 1 << 20
"""How far back from the end the newest checkpoint is looked for."""
KEY_CHANGE = "key_change"
"""The action of the record naming a new signing key (old and new key id)."""
MARK = b'"action":"' + CHECKPOINT.encode() + b'"'


class AuditLogError(EvidenceError):
    """The audit log is damaged beyond a torn last line: restore it, never repair it."""


@dataclass(frozen=True)
class Tail:
    """The end of the log."""

    seq: int
    head: str
    since_checkpoint: int
    exists: bool = True
    key_id: str | None = None
    """The key that signed last: the newest checkpoint's, or a later key_change's new key."""
    hashes: dict[int, str] = field(default_factory=dict)
    """seq -> hash of the whole records read (the end of the log)."""
    torn_at: int | None = None
    """Offset of a torn last line, if there is one."""
    torn_reason: str | None = None


def _last_lines(path: Path, size: int) -> list[bytes]:
    """The lines at the end of the file, back to the newest checkpoint (or all of them, or
    :data:`MAX_SCAN` bytes), at least two; the last one possibly without its newline."""
    pos, buf = size, b""
    with path.open("rb") as f:
        while pos > 0:
            if buf[:-1].count(b"\n") >= 2:
                whole = buf[buf.find(b"\n") + 1 :]  # the first line may start mid-line
                if MARK in whole or len(buf) >= MAX_SCAN:
                    break
            step = min(TAIL_BYTES, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
    pieces = buf.split(b"\n")
    lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    return lines[1:] if pos > 0 else lines  # the first may start mid-line


def _signed_by(lines: list[bytes]) -> tuple[int, str | None]:
    """Records after the newest checkpoint among *lines* (all of them if there is none),
    and the key that signed last (None if none is named)."""
    key = None
    for n, raw in enumerate(reversed(lines)):
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        if key is None and rec.get("action") == KEY_CHANGE:
            key = str(rec.get("new_key_id"))
        if rec.get("action") == CHECKPOINT:
            return n, key or str(rec.get("key_id"))
    return len(lines), key


def read_tail(path: Path) -> Tail:
    """The end of the log at *path* (an empty tail at genesis when it is missing or empty).
    Raises :class:`AuditLogError` when the damage is more than a torn last line."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Tail(0, GENESIS, 0, exists=False)
    if size == 0:
        return Tail(0, GENESIS, 0)
    lines = _last_lines(path, size)
    rec, why = parse_line(lines[-1])
    torn_at = None
    if why is not None:  # a torn last line: the record before it must be whole
        torn_at = size - len(lines[-1])
        lines = lines[:-1]
        if torn_at == 0:
            return Tail(0, GENESIS, 0, torn_at=torn_at, torn_reason=why)
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
    hashes: dict[int, str] = {}
    for raw in lines:
        whole, problem = parse_line(raw)
        if whole is not None and problem is None and isinstance(whole.get("seq"), int):
            hashes[whole["seq"]] = str(whole["hash"])
    since, key = _signed_by(lines)
    return Tail(seq, str(rec["hash"]), since, True, key, hashes, torn_at, why)
