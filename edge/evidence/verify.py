"""Checking an audit log as the receiver does (``edge audit verify``): the hash chain, every
signed checkpoint against the node's public key(s), and that a head archived from a
heartbeat is still in the chain (nothing was cut off after it).

Verdicts: ``ok``; ``torn`` (every record whole, only the last line is incomplete: a write cut
short by a crash or a full disk, which the node moves aside at its next start); ``edited`` (a
bad record followed by others, or a checkpoint whose signature does not hold); ``cut`` (the
archived head is not in the chain).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.chain import CHECKPOINT, GENESIS, checkpoint_message, parse_line
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
    torn: bool = False
    """Only the last line is wrong, and it is incomplete."""
    cut: bool = False
    """The head asked for is not in the chain."""
    checkpoints: int = 0
    signatures_checked: bool = False
    """Each checkpoint's signature was verified (public keys were given)."""
    signed_seq: int = 0
    """Seq of the newest checkpoint record."""
    head_seq: int | None = None
    """Seq of the record whose hash is the head asked for (0: genesis)."""

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


def _checkpoint_problem(
    rec: dict[str, Any], prev: str, seq: int, keys: dict[str, Ed25519PublicKey]
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
        signature = base64.b64decode(str(rec.get("signature")), validate=True)
        public.verify(signature, checkpoint_message(prev, seq, rec["time"], kid))
    except (ValueError, KeyError, InvalidSignature):
        return (
            "signature does not verify: the records before it were changed and the chain "
            "recomputed, or the checkpoint was forged"
        )
    return None


def _mid_fault(rec: dict[str, Any] | None, why: str, raw: bytes) -> str:
    if not raw.strip():
        return "empty line inside the log"
    if why in TORN:
        return "not a JSON record (edited?)"
    if rec is None:
        return "not an audit record"
    return f"record seq {rec.get('seq')} was altered (hash mismatch)"


def verify_log(
    path: Path, public_keys: Sequence[Ed25519PublicKey] = (), head: str | None = None
) -> AuditCheck:
    """Walk the chain; the first record that does not follow names the fault. With
    *public_keys*, every checkpoint's signature must verify with one of them; with *head*,
    that hash must be in the chain."""
    keys = {key_id(k): k for k in public_keys}
    prev, seq, count, checkpoints, signed = GENESIS, 0, 0, 0, 0
    head_seq = 0 if head == GENESIS else None
    fault: tuple[int, str] | None = None
    torn = False
    with path.open("rb") as f:
        lines = iter(f)
        raw, n = next(lines, None), 0
        while raw is not None:
            following, n = next(lines, None), n + 1
            rec, why = parse_line(raw)
            if why is not None:
                if following is None and why in TORN:
                    torn = True
                    fault = (
                        n,
                        f"torn tail: the last line is {why} (a write cut short by a "
                        "crash or a full disk; the node moves it aside at its next start)",
                    )
                else:
                    fault = (n, _mid_fault(rec, why, raw))
                break
            assert rec is not None
            if rec.get("prev") != prev:
                fault = (
                    n,
                    f"record seq {rec.get('seq')} does not follow the one before "
                    "(a record was deleted, inserted or moved)",
                )
                break
            if rec.get("seq") != seq + 1:
                fault = (n, f"sequence jumps from {seq} to {rec.get('seq')}")
                break
            if rec.get("action") == CHECKPOINT:
                problem = _checkpoint_problem(rec, prev, seq, keys)
                if problem:
                    fault = (n, f"checkpoint seq {rec['seq']} {problem}")
                    break
                checkpoints, signed = checkpoints + 1, rec["seq"]
            prev, seq, count = rec["hash"], rec["seq"], count + 1
            if head is not None and prev == head:
                head_seq = seq
            raw = following
    summary: dict[str, Any] = {
        "checkpoints": checkpoints,
        "signatures_checked": bool(keys),
        "signed_seq": signed,
        "head_seq": head_seq,
    }
    if fault is not None and not torn:
        return AuditCheck(False, count, prev, fault[0], fault[1], **summary)
    if head is not None and head_seq is None:
        reason = f"the log was cut or rewritten after {head}: that head is not in the chain"
        return AuditCheck(False, count, prev, None, reason, torn=torn, cut=True, **summary)
    if fault is not None:
        return AuditCheck(False, count, prev, fault[0], fault[1], torn=True, **summary)
    return AuditCheck(True, count, prev, **summary)
