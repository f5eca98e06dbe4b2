"""What the acknowledgement chain is made of: records in the node's audit format
(:mod:`edge.evidence.chain`: ``seq``, ``time``, ``action``, ``kind``, ``id``,
``destination``, ``sha256``, the action's fields, ``prev``, ``hash``), checkpoints signed as
the node signs its own, and the signed head kept beside the chain.

The head's signature names its own schema, so a checkpoint's signature (over an older head)
can never be passed off as the head's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.canonical import canonical
from edge.evidence.chain import CHECKPOINT, checkpoint_message, record_hash
from edge.evidence.signing import Signer

HEAD_SCHEMA = "warehouse-edge/ack-chain-head/1"
"""Names the signed bytes of the head (see :func:`head_message`)."""

ACKNOWLEDGE = "acknowledge"
"""The action of an acknowledgement record."""

KEY_INIT = "key_init"
"""The action of the record that names a receiver key before it first signs."""

INCIDENT = "incident"
"""The ``kind`` of a record of the incident workflow; its ``action`` is the note's
(``acknowledge``, ``assign``, ``comment``, ``close``, ``reopen``), its ``id`` the incident."""

INCIDENT_STATE = ("status", "acked_by", "acked_at", "assignee", "closed_by", "closed_at",
                  "outcome", "report_no")  # fmt: skip
"""The incident's workflow columns, as each incident record leaves them."""


def incident_digest(site: str, incident: str, user: str, action: str, text: str) -> str:
    """sha256 over what an incident record says (its ``sha256``)."""
    fields = {"site": site, "incident": incident, "user": user, "action": action, "text": text}
    return hashlib.sha256(canonical(fields)).hexdigest()


def reopened_state(state: dict[str, object]) -> dict[str, Any]:
    """The workflow columns after the receiver reopened a closed incident (a new alarm
    joined it): ``new`` again, nobody's acknowledgement, no outcome; the assignee stays."""
    cleared = dict.fromkeys(("acked_by", "acked_at", "closed_by", "closed_at", "outcome",
                             "report_no"))  # fmt: skip
    return {**state, **cleared, "status": "new"}


def head_message(seq: int, head: str, when: float, key_id: str) -> bytes:
    """The bytes a head signature covers: the newest record's seq and hash, when it was
    signed and by which key."""
    return canonical(
        {"schema": HEAD_SCHEMA, "seq": seq, "head": head, "time": when, "key_id": key_id}
    )


@dataclass(frozen=True, slots=True)
class SignedHead:
    """The chain's newest record (seq and hash), signed by the receiver that appended it."""

    seq: int
    hash: str
    time: float
    key_id: str
    signature: str
    """Base64 Ed25519 signature of :func:`head_message`."""

    @classmethod
    def sign(cls, seq: int, head: str, key: Signer) -> SignedHead:
        """The head *seq*/*head* signed now by *key*."""
        when = round(time.time(), 3)
        signature = key.sign(head_message(seq, head, when, key.id))
        return cls(seq, head, when, key.id, base64.b64encode(signature).decode())

    def holds(self, public: Ed25519PublicKey) -> bool:
        """Does the signature verify with *public*?"""
        message = head_message(self.seq, self.hash, self.time, self.key_id)
        return signature_holds(public, self.signature, message)

    def as_dict(self) -> dict[str, object]:
        """As JSON fields."""
        return asdict(self)


def signature_holds(public: Ed25519PublicKey, signature_b64: object, message: bytes) -> bool:
    """Does the base64 *signature_b64* over *message* verify with *public*?"""
    try:
        public.verify(base64.b64decode(str(signature_b64), validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def checkpoint_holds(rec: dict[str, Any], public: Ed25519PublicKey) -> bool:
    """Does the checkpoint record *rec* carry a good signature by *public*?"""
    try:
        message = checkpoint_message(str(rec["head"]), int(rec["head_seq"]),
                                     float(rec["time"]), str(rec["key_id"]))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return False
    return rec.get("alg") == "Ed25519" and signature_holds(public, rec.get("signature"), message)


def make_record(
    seq: int, prev: str, action: str, *, kind: str, item_id: str, sha256: str, **extra: object
) -> dict[str, object]:
    """A record in the node's format, its hash filled in."""
    record: dict[str, object] = {
        "seq": seq,
        "time": extra.pop("when", None) or round(time.time(), 3),
        "action": action,
        "kind": kind,
        "id": item_id,
        "destination": None,
        "sha256": sha256,
        **extra,
        "prev": prev,
    }
    record["hash"] = record_hash(record)
    return record


def make_checkpoint(seq: int, prev: str, prev_seq: int, key: Signer) -> dict[str, object]:
    """A checkpoint record (seq *seq*) signing the head *prev* (of *prev_seq*) with *key*,
    exactly as the node writes one."""
    when = round(time.time(), 3)
    signature = key.sign(checkpoint_message(prev, prev_seq, when, key.id))
    return make_record(
        seq,
        prev,
        CHECKPOINT,
        kind="audit",
        item_id=str(prev_seq),
        sha256=prev,
        when=when,
        head=prev,
        head_seq=prev_seq,
        key_id=key.id,
        alg="Ed25519",
        signature=base64.b64encode(signature).decode(),
    )


def record_text(record: dict[str, object]) -> str:
    """The stored form of a record: one line of the node's log, without its newline."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
