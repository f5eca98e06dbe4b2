"""What one MQTT message turns into once the receiver has looked at it: accepted (with the
parsed facts the store needs) or rejected (with the reason it is quarantined)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Part(StrEnum):
    """What a message is, from its topic."""

    EVENT = "event"
    HEALTH = "health"
    STATUS = "status"
    MANIFEST = "manifest"
    CHUNK = "chunk"
    SNAPSHOT = "snapshot"


class Reason(StrEnum):
    """Why a message was quarantined."""

    UNKNOWN_TOPIC = "unknown_topic"
    UNSIGNED = "unsigned"
    UNKNOWN_NODE = "unknown_node"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED_KEY = "expired_key"
    """Signed by a key of the node that was replaced before the message was received."""
    TOPIC_MISMATCH = "topic_mismatch"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    REPLAY = "replay"
    CONFLICT = "conflict"
    """A second signed manifest for a clip with other content: the first stays."""
    TOO_LARGE = "too_large"
    ERROR = "error"
    """Checking it raised an exception (its class and text are the detail): a bug that one
    message triggers stops nothing else."""
    STORE_ERROR = "store_error"
    """Storing it failed the same way several times alone (the database's error class and
    text are the detail), while the messages around it were stored."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message whose signature, signer and topic agree."""

    part: Part
    site: str
    node: str
    id: str
    """The message id (``edge.wire.ids`` form), unique per node."""
    sha256: str
    payload: bytes
    topic: str
    data: dict[str, Any] = field(default_factory=dict)
    """Parsed JSON (event, heartbeat, status, signed manifest)."""
    ref: str = ""
    """Clip id (manifest, chunk) or snapshot id."""
    n: int = 0
    """Chunk number."""
    key_id: str = ""
    """The ``kid`` user property: the key that signed the message (checked)."""
    signature: str = ""
    """The ``sig`` user property: the message's Ed25519 signature (base64, checked), kept
    with an event so its evidence bundle carries it."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message kept aside, with why."""

    reason: Reason
    detail: str
    topic: str
    payload: bytes
    sha256: str
    node: str = ""
    """The node the topic names (who it claims to come from), when it names one."""
    id: str = ""


Verdict = Accepted | Rejected
