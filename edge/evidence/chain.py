"""The pieces of the audit chain that the node's writer and the receiver's verifier share: the
record hash, how one line of the log is judged, and what a checkpoint signs.

A line is one JSON object ending in ``\\n``. A *checkpoint* record (action ``checkpoint``) signs
the chain head before it with the node's Ed25519 key, so whoever holds the public key can tell
a rewritten chain (records deleted and the hashes recomputed) from the one the node wrote.
What signs is the one :class:`edge.evidence.signing.Signer`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from edge.evidence.canonical import canonical

GENESIS = "0" * 64
"""The ``prev`` of the first record."""

CHECKPOINT = "checkpoint"
"""The action of a signed checkpoint record."""

CHECKPOINT_EVERY = 100
"""Records between two signed checkpoints (besides the one at every heartbeat)."""

CHECKPOINT_SCHEMA = "warehouse-edge/audit-checkpoint/1"
"""Names the signed bytes of a checkpoint (see :func:`checkpoint_message`)."""


def record_hash(record: Mapping[str, object]) -> str:
    """The hash of a record (over every field but ``hash``)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def record_line(record: dict[str, object]) -> bytes:
    """The bytes of *record* as one line of the log."""
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Judge one line of the log (with its ``\\n`` if it has one): ``(record, None)`` when it
    is a whole record whose hash matches, else ``(record or None, why not)``. The reasons:
    ``incomplete`` (no newline: the write was cut short), ``not JSON``, ``not an audit
    record``, ``hash mismatch`` (then the parsed record comes back too)."""
    if not raw.endswith(b"\n"):
        return None, "incomplete"
    try:
        rec = json.loads(raw)
    except ValueError:
        return None, "not JSON"
    if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str) or "seq" not in rec:
        return None, "not an audit record"
    if record_hash(rec) != rec["hash"]:
        return rec, "hash mismatch"
    return rec, None


def checkpoint_message(head: str, seq: int, time: float, key_id: str) -> bytes:
    """The bytes a checkpoint signs: the chain head (hash and seq of the record before the
    checkpoint), the checkpoint's time and the signing key's id."""
    return canonical(
        {"schema": CHECKPOINT_SCHEMA, "head": head, "seq": seq, "time": time, "key_id": key_id}
    )
