"""Outbox message ids, typed. On the wire an id is a string receivers deduplicate by:

- an event: its own id (``EVENT_ID``);
- a clip: ``CLIP_ID/manifest`` and ``CLIP_ID/NNNNN`` for chunk N (sorting in sending order);
- a snapshot: ``snapshot/SNAPSHOT_ID``; a heartbeat: ``health/ID``.

Bookkeeping works on :class:`MessageId`, never by splitting strings itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Part(StrEnum):
    """What a message is."""

    EVENT = "event"
    MANIFEST = "manifest"
    CHUNK = "chunk"
    SNAPSHOT = "snapshot"
    HEALTH = "health"


_PREFIXED = {Part.SNAPSHOT: "snapshot", Part.HEALTH: "health"}


@dataclass(frozen=True, slots=True)
class MessageId:
    """One outbox message's identity: what it is, what it belongs to, which chunk."""

    part: Part
    ref: str
    """The event, clip, snapshot or heartbeat id."""
    chunk: int = 0

    @classmethod
    def event(cls, event_id: str) -> MessageId:
        """An event's message."""
        return cls(Part.EVENT, event_id)

    @classmethod
    def manifest(cls, clip_id: str) -> MessageId:
        """A clip's signed manifest."""
        return cls(Part.MANIFEST, clip_id)

    @classmethod
    def chunk_of(cls, clip_id: str, n: int) -> MessageId:
        """Chunk *n* (from 0) of a clip."""
        return cls(Part.CHUNK, clip_id, n)

    @classmethod
    def snapshot(cls, snapshot_id: str) -> MessageId:
        """An event snapshot."""
        return cls(Part.SNAPSHOT, snapshot_id)

    @classmethod
    def health(cls, health_id: str) -> MessageId:
        """A heartbeat."""
        return cls(Part.HEALTH, health_id)

    @classmethod
    def parse(cls, text: str) -> MessageId:
        """The id *text* names (the inverse of ``str``)."""
        head, sep, tail = text.partition("/")
        if not sep:
            return cls.event(text)
        for part, prefix in _PREFIXED.items():
            if head == prefix:
                return cls(part, tail)
        if tail == "manifest":
            return cls.manifest(head)
        if tail.isdigit():
            return cls.chunk_of(head, int(tail))
        raise ValueError(f"not an outbox message id: {text!r}")

    @staticmethod
    def clip_prefix(clip_id: str) -> str:
        """The id prefix every message of a clip shares (for counting what is left)."""
        return f"{clip_id}/"

    @property
    def clip_id(self) -> str | None:
        """The clip this message belongs to (manifest or chunk), else None."""
        return self.ref if self.part in (Part.MANIFEST, Part.CHUNK) else None

    def __str__(self) -> str:
        if self.part is Part.EVENT:
            return self.ref
        if self.part in _PREFIXED:
            return f"{_PREFIXED[self.part]}/{self.ref}"
        if self.part is Part.MANIFEST:
            return f"{self.ref}/manifest"
        return f"{self.ref}/{self.chunk:05d}"
