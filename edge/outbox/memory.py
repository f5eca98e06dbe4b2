"""Messages a link sends from memory because the outbox could not store them (a full disk, a
file being rebuilt): one rule for heartbeats and events alike.

What the outbox cannot store is offered to every link that may have it and sent once, as
soon as the link is up, without waiting for the disk. It is not *accepted* by this: an event
stays in the node's memory backlog (logged ``event.waiting``) and is stored when the disk
has room, and its stored copy is delivered (and audited) as usual; the receivers drop the
second copy by its id. A heartbeat is not kept: the newest one replaces any older one that
has not gone yet. A copy whose connection dropped before its PUBACK may be offered again; one
the broker took is not sent from memory again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from edge.core.kinds import Kind
from edge.outbox.message import OutboxMessage, Priority

MAX_QUEUED = 1000
"""Messages waiting to be sent from memory per link; beyond it the oldest non-alarm goes."""
MAX_REMEMBERED = 10_000
"""Ids remembered as delivered from memory (so they are not sent from memory again)."""


class MemoryOffers:
    """One link's messages to send from memory, and which of them went."""

    def __init__(self) -> None:
        self._queued: OrderedDict[str, OutboxMessage] = OrderedDict()
        self._sent: dict[str, int] = {}  # id -> connection generation it went out on
        self._delivered: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.dropped = 0
        """Messages dropped from the memory queue because it was full (they still wait in
        the node's backlog to be stored: only the early copy is lost)."""

    def offer(self, message: OutboxMessage) -> bool:
        """Queue *message* unless it is queued, on the wire or delivered; True if queued."""
        with self._lock:
            mid = message.id
            if mid in self._queued or mid in self._sent or mid in self._delivered:
                return False
            if message.kind == Kind.NODE_HEALTH:
                for old in [k for k, m in self._queued.items() if m.kind == Kind.NODE_HEALTH]:
                    del self._queued[old]
            self._queued[mid] = message
            while len(self._queued) > MAX_QUEUED:
                victim = next(
                    (k for k, m in self._queued.items() if m.priority is not Priority.ALARM),
                    next(iter(self._queued)),
                )
                del self._queued[victim]
                self.dropped += 1
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._queued)

    def take(self, n: int, generation: int) -> list[OutboxMessage]:
        """Up to *n* queued messages, alarms first, marked as sent on *generation*."""
        with self._lock:
            ordered = sorted(self._queued.values(), key=lambda m: int(m.priority))[:n]
            for m in ordered:
                del self._queued[m.id]
                self._sent[m.id] = generation
            return ordered

    def delivered(self, message_id: str) -> None:
        """The broker acknowledged the copy sent from memory."""
        with self._lock:
            self._sent.pop(message_id, None)
            self._delivered[message_id] = None
            while len(self._delivered) > MAX_REMEMBERED:
                self._delivered.popitem(last=False)

    def unsent(self, message_id: str) -> None:
        """The copy did not go (refused): it may be offered again."""
        with self._lock:
            self._sent.pop(message_id, None)

    def connection_lost(self, generation: int) -> None:
        """Copies of connections up to *generation* without a PUBACK may be offered again."""
        with self._lock:
            for mid in [k for k, g in self._sent.items() if g <= generation]:
                del self._sent[mid]
