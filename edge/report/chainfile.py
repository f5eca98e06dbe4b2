"""Reading the node's audit log for a report: every line as written (so it is copied into the
report verbatim), its record, and its line number; a damaged log is an error naming the file
and the line, never a report built from part of it.

Each line must hash (:func:`edge.evidence.chain.parse_line`) and follow the one before it
(``prev`` and ``seq``). The same checks read a report's ``chain.jsonl``, whose first record
need not follow genesis (it is a stretch of the chain)."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.chain import CHECKPOINT, GENESIS, checkpoint_message, parse_line


class ChainFileError(EvidenceError):
    """An audit log (or a report's chain.jsonl) that cannot be read as a whole chain."""


@dataclass(frozen=True, slots=True)
class Line:
    """One record of the chain: where it is, its bytes as written and what they say."""

    number: int
    raw: bytes
    record: dict[str, Any]

    @property
    def seq(self) -> int:
        """The record's place in the chain."""
        return int(self.record["seq"])

    @property
    def time(self) -> float:
        """When it was written (UNIX s)."""
        return float(self.record.get("time") or 0.0)


_WHY = {
    "incomplete": "the last line is incomplete (a write cut short by a crash or a full disk; "
    "the node moves it aside at its next start: run the report again after that)",
    "not JSON": "not a JSON record",
    "not an audit record": "not an audit record",
}


SETTLE_S = 0.2
"""How long a log whose last line is incomplete is given to finish it (the running node
appends whole lines; one caught mid-write is whole a moment later, a torn one is not)."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise ChainFileError(f"{path}: no such audit log") from e
    except OSError as e:
        raise ChainFileError(f"{path}: cannot read: {e.strerror or e}") from e


def read_chain(path: Path, *, from_genesis: bool = True) -> list[Line]:
    """Every record of the chain at *path*, in order. Raises :class:`ChainFileError` naming
    ``PATH:LINE`` for a line that does not hash or does not follow the one before (with
    *from_genesis*, the first must follow genesis), and for a file that cannot be read."""
    data = _read(path)
    if data and not data.endswith(b"\n"):  # a record being appended as we read? once more
        time.sleep(SETTLE_S)
        data = _read(path)
    out: list[Line] = []
    prev: str | None = GENESIS if from_genesis else None
    for n, raw in enumerate(data.splitlines(keepends=True), start=1):
        if not raw.strip():
            raise ChainFileError(f"{path}:{n}: empty line inside the audit chain")
        rec, why = parse_line(raw)
        if why == "hash mismatch":
            seq = rec.get("seq") if rec else "?"
            raise ChainFileError(f"{path}:{n}: record seq {seq} was altered (hash mismatch)")
        if why is not None or rec is None:
            raise ChainFileError(f"{path}:{n}: {_WHY.get(str(why), why)}")
        if prev is not None and rec.get("prev") != prev:
            raise ChainFileError(
                f"{path}:{n}: record seq {rec.get('seq')} does not follow the one before "
                "(a record was deleted, inserted or moved)"
            )
        if out and rec.get("seq") != out[-1].seq + 1:
            raise ChainFileError(
                f"{path}:{n}: sequence jumps from {out[-1].seq} to {rec.get('seq')}"
            )
        if not isinstance(rec.get("seq"), int):
            raise ChainFileError(f"{path}:{n}: seq {rec.get('seq')!r} is not a number")
        out.append(Line(n, raw, rec))
        prev = str(rec["hash"])
    return out


def checkpoint_problem(
    line: Line, before: Line | None, keys: dict[str, Ed25519PublicKey]
) -> str | None:
    """Why the checkpoint *line* does not sign the record *before* it with one of *keys*
    (None: it does). Without *before* (the first line of a stretch) only the signature over
    the head it names is checked."""
    rec = line.record
    head, seq = str(rec.get("head")), rec.get("head_seq")
    if before is not None and (head != before.record["hash"] or seq != before.seq):
        return f"checkpoint seq {line.seq} does not sign the record before it"
    kid = str(rec.get("key_id"))
    public = keys.get(kid)
    if public is None:
        return f"checkpoint seq {line.seq} is signed by key {kid!r}, not the one given"
    try:
        signature = base64.b64decode(str(rec.get("signature")), validate=True)
        public.verify(signature, checkpoint_message(head, int(str(seq)), rec["time"], kid))
    except (ValueError, KeyError, InvalidSignature):
        return (
            f"checkpoint seq {line.seq}: the signature does not verify (the records before "
            "it were changed and the chain recomputed, or the checkpoint was forged)"
        )
    return None


NOTICES = ("key_init", "key_change", "chain_break", "log_set_aside", "torn_tail")
"""Records about the chain itself a report lists: a key made or changed, the log found cut
or missing, a damaged log set aside, a torn last line moved aside."""
_NOT_SHOWN = frozenset({"seq", "prev", "hash", "destination", "kind", "id", "sha256"})


def notices(lines: Sequence[Line], since: float, until: float) -> list[dict[str, object]]:
    """The chain's own events from *since* to *until*: ``{"time", "audit_seq", "action",
    ...its fields}``."""
    out: list[dict[str, object]] = []
    for line in lines:
        rec = line.record
        if rec.get("action") in NOTICES and since <= line.time < until:
            fields = {k: v for k, v in rec.items() if k not in _NOT_SHOWN}
            out.append({**fields, "audit_seq": line.seq})
    return out


def is_checkpoint(line: Line) -> bool:
    """The line is a signed checkpoint."""
    return line.record.get("action") == CHECKPOINT
