"""Checking an audit log as the receiver does (``edge audit verify``): the hash chain, every
signed checkpoint against the node's public key(s), that every head kept outside the log
(archived from heartbeats, or the node's ``audit.head``) is still in it, and, with the keys,
that no more is unsigned than the node ever leaves unsigned.

Verdicts: ``ok``; ``torn`` (every record whole, only the last line is incomplete: a write cut
short by a crash or a full disk, which the node moves aside at its next start); ``edited`` (a
bad record followed by others, a checkpoint whose signature does not hold, or a key change
the chain does not record); ``cut`` (the log was shortened: a head kept outside it is not in
it, or, with the keys, checkpoints are missing: see :mod:`edge.evidence.bounds`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.anchors import Anchor
from edge.evidence.bounds import (
    DEFAULT_INTERVAL_S,
    Walk,
    missing_anchor,
    record_seq,
    unsigned_problem,
)
from edge.evidence.chain import CHECKPOINT, GENESIS, checkpoint_message, parse_line
from edge.evidence.continuity import CHAIN_BREAK, KEY_CHANGE
from edge.evidence.keys import key_id

TORN = frozenset({"incomplete", "not JSON"})
"""What a last line cut short looks like (a whole line that does not hash is an edit)."""


@dataclass(frozen=True)
class AuditCheck:
    """Result of :func:`verify_log`."""

    ok: bool
    records: int
    """Whole records that follow the chain (up to the first bad line)."""
    head: str
    """Hash of the last of them."""
    bad_line: int | None = None
    reason: str | None = None
    """The first problem (all of them: :attr:`problems`)."""
    torn: bool = False
    """Only the last line is wrong, and it is incomplete."""
    cut: bool = False
    """The log was shortened: a head kept outside it is missing, or checkpoints are."""
    checkpoints: int = 0
    signatures_checked: bool = False
    """Each checkpoint's signature was verified (public keys were given)."""
    signed_seq: int = 0
    """Seq of the newest checkpoint record."""
    head_seq: int | None = None
    """Seq of the record whose hash is the head asked for (0: genesis)."""
    problems: tuple[str, ...] = ()
    anchors: int = 0
    """Heads kept outside the log that were checked (``--head``, heads file, audit.head)."""
    missing: tuple[str, ...] = ()
    """Those of them not in the log."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Recorded key changes and chain breaks, for the summary."""
    exists: bool = True

    @property
    def unsigned(self) -> int:
        """Records after the newest checkpoint: not signed yet."""
        return self.records - self.signed_seq

    @property
    def verdict(self) -> str:
        """``ok``, ``torn``, ``edited`` or ``cut``."""
        if self.ok:
            return "ok"
        if self.cut:
            return "cut"
        return "torn" if self.torn else "edited"


class _Summary(TypedDict):
    """The fields of :class:`AuditCheck` every outcome of a walk gives."""

    checkpoints: int
    signatures_checked: bool
    signed_seq: int
    head_seq: int | None
    anchors: int
    notes: tuple[str, ...]
    exists: bool


def _checkpoint_problem(
    rec: Mapping[str, object], prev: str, seq: int, keys: dict[str, Ed25519PublicKey]
) -> str | None:
    """Why the checkpoint *rec* (following the record *prev* of *seq*) does not hold."""
    if rec.get("head") != prev or rec.get("head_seq") != seq:
        return "does not sign the record before it"
    if not keys:
        return None
    kid = str(rec.get("key_id"))
    public = keys.get(kid)
    if public is None:
        return f"signed by key {kid!r}, not by a given public key ({', '.join(sorted(keys))})"
    if rec.get("alg") != "Ed25519":
        return f"unsupported signature algorithm {rec.get('alg')!r}"
    try:
        when = rec["time"]
        if not isinstance(when, int | float):  # a checkpoint signs a number
            raise ValueError(f"time {when!r}")
        signature = base64.b64decode(str(rec.get("signature")), validate=True)
        public.verify(signature, checkpoint_message(prev, seq, when, kid))
    except (ValueError, KeyError, InvalidSignature):
        return (
            "signature does not verify: the records before it were changed and the chain "
            "recomputed, or the checkpoint was forged"
        )
    return None


def _mid_fault(rec: Mapping[str, object] | None, why: str, raw: bytes) -> str:
    if not raw.strip():
        return "empty line inside the log"
    if why in TORN:
        return "not a JSON record (edited?)"
    if rec is None:
        return "not an audit record"
    return f"record seq {rec.get('seq')} was altered (hash mismatch)"


def _step(w: Walk, rec: Mapping[str, object], keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Take the whole record *rec* into the walk; the fault it shows, if any."""
    if rec.get("prev") != w.prev:
        return (
            f"record seq {rec.get('seq')} does not follow the one before "
            "(a record was deleted, inserted or moved)"
        )
    if rec.get("seq") != w.seq + 1:
        return f"sequence jumps from {w.seq} to {rec.get('seq')}"
    action = rec.get("action")
    if action == CHECKPOINT:
        problem = _checkpoint_problem(rec, w.prev, w.seq, keys)
        if problem is None and keys:
            problem = w.key_problem(str(rec.get("key_id")), record_seq(rec))
        if problem:
            return f"checkpoint seq {rec['seq']} {problem}"
        w.checkpoint(rec)
    elif action == "key_init":
        w.announce(str(rec.get("key_id")), receiver="receiver" in rec)
    elif action == KEY_CHANGE:
        w.announce(str(rec.get("new_key_id")), old=str(rec.get("old_key_id")), seq=record_seq(rec))
    elif action == CHAIN_BREAK:
        w.chain_break(rec)
    w.take(rec)
    return None


def _walk(
    f: BinaryIO, w: Walk, keys: dict[str, Ed25519PublicKey]
) -> tuple[tuple[int, str] | None, bool]:
    """Walk the lines of *f* into *w*: the first fault (line number, why) and whether it is a
    torn last line."""
    lines = iter(f)
    raw, n = next(lines, None), 0
    while raw is not None:
        following, n = next(lines, None), n + 1
        rec, why = parse_line(raw)
        if why is not None:
            if following is None and why in TORN:
                torn = (
                    f"torn tail: the last line is {why} (a write cut short by a crash or a "
                    "full disk; the node moves it aside at its next start)"
                )
                return (n, torn), True
            return (n, _mid_fault(rec, why, raw)), False
        assert rec is not None
        problem = _step(w, rec, keys)
        if problem is not None:
            return (n, problem), False
        raw = following
    return None, False


def verify_log(
    path: Path,
    public_keys: Sequence[Ed25519PublicKey] = (),
    head: str | None = None,
    *,
    anchors: Sequence[Anchor] = (),
    interval_s: float = DEFAULT_INTERVAL_S,
) -> AuditCheck:
    """Walk the chain; the first record that does not follow names the fault. With
    *public_keys*, every checkpoint's signature must verify with one of them, a change of
    key must be recorded, and what follows the last checkpoint must be within the node's
    bounds (*interval_s*: its heartbeat interval). Every one of *anchors* (and *head*) must
    be in the chain. A missing log is an empty one when anchors say what it should hold;
    otherwise ``FileNotFoundError``."""
    keys = {key_id(k): k for k in public_keys}
    given = [*anchors, *([Anchor(head, "--head")] if head is not None else [])]
    first: dict[str, Anchor] = {}
    for a in given:
        first.setdefault(a.head, a)  # the first of each head (a heads file before audit.head)
    wanted = list(first.values())
    w = Walk({a.head for a in wanted})
    fault: tuple[int, str] | None = None
    torn, exists = False, True
    try:
        f = path.open("rb")
    except FileNotFoundError:
        if not wanted:
            raise
        exists = False
    if exists:
        with f:
            fault, torn = _walk(f, w, keys)
    summary: _Summary = {
        "checkpoints": w.checkpoints,
        "signatures_checked": bool(keys),
        "signed_seq": w.signed_seq,
        "head_seq": w.found.get(head) if head is not None else None,
        "anchors": len(wanted),
        "notes": tuple(w.notes),
        "exists": exists,
    }
    if head == GENESIS:
        summary["head_seq"] = 0
    if fault is not None and not torn:
        return AuditCheck(False, w.count, w.prev, fault[0], fault[1], problems=(fault[1],),
                          **summary)  # fmt: skip
    gone = [a for a in wanted if a.head != GENESIS and a.head not in w.found]
    problems = [missing_anchor(a, w, exists) for a in gone]
    if keys:
        problems += filter(None, [unsigned_problem(w, interval_s)])
    if problems:
        return AuditCheck(False, w.count, w.prev, None, problems[0], torn=torn, cut=True,
                          problems=tuple(problems), missing=tuple(a.head for a in gone),
                          **summary)  # fmt: skip
    if fault is not None:
        return AuditCheck(False, w.count, w.prev, fault[0], fault[1], torn=True,
                          problems=(fault[1],), **summary)  # fmt: skip
    return AuditCheck(True, w.count, w.prev, **summary)
