"""What the outbox holds: a message for one or more destinations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Delivery classes, most urgent first: alarms overtake everything."""

    ALARM = 0
    EVENT = 1
    CLIP = 2
    HEALTH = 3


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message to publish. ``id`` is stable across retries so receivers drop duplicates.

    ``topic`` is relative to the destination's ``PREFIX/SITE/NODE/``.
    """

    id: str
    priority: Priority
    kind: str
    topic: str
    payload: bytes
    created: float
    expires: float | None = None
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored message awaiting PUBACK from one destination."""

    seq: int
    message: OutboxMessage
