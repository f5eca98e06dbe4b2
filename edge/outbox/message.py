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
    file: str | None = None
    """When set, the payload is ``length`` bytes of this file from ``offset`` (clip chunks:
    the clip is on disk once, not copied into the queue)."""
    offset: int = 0
    length: int = 0
    properties: tuple[tuple[str, str], ...] = ()
    """Extra MQTT 5 user properties (chunk number, chunk hash...)."""

    def body(self) -> bytes:
        """The payload to publish; reads it from ``file`` for file-backed messages.

        Raises FileNotFoundError when the file is gone (evicted from the clip store).
        """
        if self.file is None:
            return self.payload
        with open(self.file, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.length)
        if len(data) != self.length:
            raise FileNotFoundError(f"{self.file}: {len(data)} of {self.length} bytes left")
        return data


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored message awaiting PUBACK from one destination."""

    seq: int
    message: OutboxMessage
