"""Per-message signatures: every event, manifest, chunk, snapshot and heartbeat a node
publishes carries an Ed25519 signature by the node's key, so the receiver believes nothing
that another key (or nobody) made, and nothing moved to another node's topic.

What is signed is small and canonical: the node's site and id, the topic relative to
``PREFIX/SITE/NODE/``, the message id, and the sha256 of the payload. The signature and the
key id travel as MQTT 5 user properties ``sig`` and ``kid``; the payload stays as it was.
The topic prefix is left out: it belongs to the destination, not to the node.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.canonical import canonical

SCHEMA = "warehouse-edge/message/1"
SIG = "sig"
KID = "kid"


class Signer(Protocol):
    """What signs, the one protocol for every signature: messages, manifests, bundles and
    the checkpoints of both audit chains (the node's ``NodeKey``, the receiver's key)."""

    @property
    def id(self) -> str:
        """Key id."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of *data*."""
        ...


class MessageSignatureError(EvidenceError):
    """A message's signature is missing, malformed or does not verify."""


@dataclass(frozen=True, slots=True)
class SignedFields:
    """The facts a message signature covers."""

    site: str
    node: str
    topic: str
    """Relative to ``PREFIX/SITE/NODE/``."""
    id: str
    sha256: str
    """Hex sha256 of the payload."""

    def canonical(self) -> bytes:
        """The bytes the node signs."""
        return canonical(
            {
                "schema": SCHEMA,
                "site": self.site,
                "node": self.node,
                "topic": self.topic,
                "id": self.id,
                "sha256": self.sha256,
            }
        )


def payload_sha256(body: bytes) -> str:
    """Hex sha256 of a payload."""
    return hashlib.sha256(body).hexdigest()


def message_properties(fields: SignedFields, key: Signer) -> tuple[tuple[str, str], ...]:
    """The ``kid`` and ``sig`` user properties for a message with *fields*."""
    signature = base64.b64encode(key.sign(fields.canonical())).decode()
    return ((KID, key.id), (SIG, signature))


def verify_message(fields: SignedFields, signature_b64: str, public: Ed25519PublicKey) -> None:
    """Check *signature_b64* over *fields*; raises :class:`MessageSignatureError`."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MessageSignatureError(f"message {fields.id!r}: signature is not base64") from e
    try:
        public.verify(signature, fields.canonical())
    except InvalidSignature as e:
        raise MessageSignatureError(
            f"message {fields.id!r} on {fields.site}/{fields.node}/{fields.topic}: bad signature"
        ) from e
