"""The audit log's last signed head, kept beside it in a small file (``audit.log`` ->
``audit.head``, 0600), rewritten after every checkpoint: seq, hash, signing key id and time.

It is how the node knows, at start, that its log should not be empty: a log found missing,
emptied or shorter than the head it signed last is a *chain break*, recorded as the first
record of what follows (``edge.evidence.continuity``). ``edge audit verify`` reads it too,
as one more head that must be in the chain. The file is written whole (a temporary file,
fsync'd, renamed into place) so a crash leaves the old state or the new one, never half.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.core.errors import EvidenceError

SUFFIX = ".head"
SCHEMA = "warehouse-edge/audit-head/1"
HEX64 = re.compile(r"[0-9a-f]{64}")


class HeadStateError(EvidenceError):
    """The head state file exists but cannot be read or is not a head state."""


@dataclass(frozen=True)
class HeadState:
    """What the node last signed: the checkpoint record's seq and hash, by which key, when."""

    seq: int
    head: str
    key_id: str | None
    time: float


def state_path(log_path: Path) -> Path:
    """Where the head state of the log at *log_path* lives (``audit.log`` -> ``audit.head``)."""
    return log_path.with_name(log_path.stem + SUFFIX)


def read_state(path: Path) -> HeadState | None:
    """The head state at *path*; None when there is none. Raises :class:`HeadStateError`
    when the file is there but unreadable or malformed (naming the file and the fault)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise HeadStateError(f"{path}: cannot read the audit head state: {e.strerror or e}") from e
    try:
        data = json.loads(raw)
        seq, head = data["seq"], data["head"]
        key, when = data.get("key_id"), float(data.get("time", 0.0))
    except (ValueError, TypeError, KeyError) as e:
        raise HeadStateError(f"{path}: not an audit head state ({e})") from e
    if (
        not isinstance(seq, int)
        or seq < 0
        or not isinstance(head, str)
        or not HEX64.fullmatch(head)
    ):
        raise HeadStateError(f"{path}: not an audit head state (seq {seq!r}, head {head!r})")
    return HeadState(seq, head, key if isinstance(key, str) else None, when)


def write_state(path: Path, state: HeadState) -> None:
    """Replace the head state at *path* with *state*, durably (0600). Raises ``OSError``."""
    body = json.dumps({"schema": SCHEMA, **asdict(state)}, sort_keys=True).encode() + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(body)
        while view:
            n = os.write(fd, view)
            if n <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[n:]
        os.fsync(fd)
    except OSError:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
