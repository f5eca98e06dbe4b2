"""Opening the audit log at start when it is damaged beyond a torn last line.

The node never repairs a damaged chain, and it never lets one keep the siren off either: the
damaged file is set aside whole as ``audit.log.damaged-<UTC stamp>`` (kept for forensics,
never rewritten) and a new chain starts in its place. The new chain says what happened: where
the node had signed a head before (``audit.head``) the audit log's own ``chain_break`` record
comes first (the log is missing from that head's point of view, :mod:`edge.evidence.continuity`),
then a ``log_set_aside`` record: the set-aside file's name and sha256, why it was refused, how
many of its records still follow the chain and the hash of the last of them (its last good
head). The new chain is signed like any other; the break shows to whoever verifies the log or
compares it with a head archived from a heartbeat (the old head is not in the new chain:
``edge audit verify --head`` says ``cut``), and the set-aside file verifies on its own up to
its damage.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from edge.core.logs import get_logger
from edge.evidence.audit import AuditLog, AuditLogError
from edge.evidence.signing import Signer
from edge.evidence.verify import verify_log

log = get_logger(__name__)

SET_ASIDE = "log_set_aside"
"""The action of the record naming a damaged log set aside at start (its last good head)."""


@dataclass(frozen=True)
class ChainBreak:
    """A damaged audit log set aside at start, and the record that says so."""

    kept_as: Path
    reason: str
    good_records: int
    """Records of the old log that still follow the chain (up to the first bad line)."""
    good_head: str
    """The hash of the last of them (the genesis hash when there is none)."""
    record: dict[str, object]
    """The ``log_set_aside`` record of the new chain."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(path: Path, kind: str = "damaged") -> Path:
    """Move *path* to ``NAME.KIND-<UTC stamp>`` beside it (a new name, never over another
    file) and make the move durable; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    side = path.with_name(f"{path.name}.{kind}-{stamp}")
    n = 1
    while True:
        try:
            os.link(path, side)  # fails if the name is taken: nothing is overwritten
            break
        except FileExistsError:
            side = path.with_name(f"{path.name}.{kind}-{stamp}-{n}")
            n += 1
    os.unlink(path)
    _fsync_dir(path.parent)
    return side


def open_audit(path: Path, signer: Signer | None = None) -> tuple[AuditLog, ChainBreak | None]:
    """The audit log at *path* for the node, and the break when it was damaged.

    A log that opens (a torn last line included: :class:`AuditLog` moves that aside itself)
    is returned as it is. One that :class:`AuditLog` refuses (:class:`AuditLogError`) is set
    aside and replaced by a new chain that records it (``log_set_aside``); logged as
    ``audit.set_aside`` (error). Raises :class:`AuditLogError` only when even that fails
    (the file cannot be moved, or the new record cannot be written)."""
    try:
        return AuditLog(path, signer=signer), None
    except AuditLogError as e:
        reason = " ".join(str(e).split())
    check = verify_log(path)
    try:
        digest = _sha256(path)
        kept = set_aside(path)
    except OSError as e:
        raise AuditLogError(
            f"{path}: damaged ({reason}) and cannot be set aside: {e.strerror or e}"
        ) from e
    audit = AuditLog(path, signer=signer)
    fields: dict[str, object] = {
        "kept_as": kept.name,
        "reason": reason,
        "good_records": check.records,
        "good_head": check.head,
        "bad_line": check.bad_line,
    }
    try:
        record = audit.append(SET_ASIDE, "audit", kept.name, None, digest, **fields)
    except OSError as e:
        raise AuditLogError(
            f"{path}: damaged log set aside as {kept.name}, but the new chain cannot record "
            f"it: {e.strerror or e}"
        ) from e
    log.error(
        "audit.set_aside",
        path=str(path),
        kept_as=str(kept),
        reason=reason,
        good_records=check.records,
        good_head=check.head,
        bad_line=check.bad_line,
        note="a new chain was started; its log_set_aside record names the old file",
    )
    brk = ChainBreak(kept, reason, check.records, check.head, record)
    return audit, brk
