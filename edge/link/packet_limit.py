"""The broker's packet size limit: announced in an MQTT 5 CONNACK, or inferred when a 3.1.1
broker keeps dropping the connection while the same large message is in flight. A message
over the limit stays queued and is reported, never sent into a connection it would kill."""

from __future__ import annotations

from collections.abc import Iterable

from edge.outbox.message import OutboxMessage

SUSPECT_AFTER = 3
"""Connections lost with the same large message in flight before it is held back."""

SUSPECT_MIN_BYTES = 16 * 1024
"""Messages smaller than this never explain a dropped connection."""


class PacketLimit:
    """What may be sent to one broker, by size."""

    def __init__(self) -> None:
        self.announced: int | None = None
        """The broker's Maximum Packet Size (MQTT 5 CONNACK), when it announces one."""
        self.inferred: int | None = None
        """A limit guessed from connections dropped while a large message was in flight."""
        self._suspects: dict[str, int] = {}  # message id -> connections lost while in flight

    @property
    def limit(self) -> int | None:
        """The limit in force, if any."""
        return self.announced or self.inferred

    def too_big(self, msg_id: str, size: int) -> str | None:
        """Why a message of *size* bytes (topic included) must not be sent, else None."""
        limit = self.limit
        if limit is not None and size > limit:
            source = (
                "its Maximum Packet Size"
                if self.announced is not None
                else "inferred from dropped connections"
            )
            return (
                f"message {msg_id} is {size} bytes, over the broker's packet size limit of "
                f"{limit} bytes ({source}): lower outbox.chunk_size; the message stays queued"
            )
        if self._suspects.get(msg_id, 0) >= SUSPECT_AFTER:
            return ""  # already reported when it became a suspect
        return None

    def delivered(self, msg_id: str) -> None:
        """The broker took it: whatever dropped the connections, it was not this message."""
        self._suspects.pop(msg_id, None)

    def lost_with(self, inflight: Iterable[OutboxMessage]) -> str | None:
        """The connection dropped with *inflight* messages on the wire. Returns the report
        when the largest of them has now been there SUSPECT_AFTER times."""
        messages = list(inflight)
        if not messages:
            return None
        m = max(messages, key=lambda x: x.length or len(x.payload))
        size = m.length or len(m.payload)
        if size < SUSPECT_MIN_BYTES:
            return None
        n = self._suspects[m.id] = self._suspects.get(m.id, 0) + 1
        if n != SUSPECT_AFTER:
            return None
        self.inferred = min(self.inferred or size, size - 1)
        return (
            f"the broker dropped the connection {n} times while message {m.id} "
            f"({size} bytes) was in flight: probably over its packet size limit (MQTT "
            "3.1.1 brokers do not announce it); lower outbox.chunk_size. Messages this "
            "large stay queued"
        )
