"""What a PUBACK means for the message it acknowledges.

paho reports each PUBACK on its network thread, holding its locks: the callback only hands
it over; the sender thread drains them. Reason codes below 0x80 are successes (0x00, and
0x10 No matching subscribers: the broker took the message but nobody subscribes, counted so
the heartbeat can say nobody listens); from 0x80 on the broker refused the message, which
stays in the outbox (:mod:`edge.link.refusals`). MQTT 3.1.1 PUBACKs carry no reason:
always a success, even when the broker dropped the message.

What follows a delivery is kept by the link's :class:`Books`: by default the outbox forgets
the message (:class:`OutboxBooks`); on a node the ledger first writes its audit record
(``edge.outbox.ledger``). A message whose books cannot be closed yet (a full disk) stays
in the outbox, is not sent again meanwhile (:meth:`Books.unsettled`), and is closed later:
nothing delivered is forgotten in memory only. A message sent from memory (one the outbox
could not store: sequence number 0) has no books: its stored copy goes later.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection
from typing import Protocol

from edge.core.errors import OutboxError
from edge.core.logs import get_logger
from edge.link.linkstats import LinkStats
from edge.link.packet_limit import PacketLimit
from edge.link.refusals import Refusals
from edge.outbox.memory import MemoryOffers
from edge.outbox.message import Pending
from edge.outbox.store import Outbox
from edge.wire.mqtt5 import OnPublish, ReasonCode

NO_MATCHING_SUBSCRIBERS = 0x10
FAILURE = 0x80
"""Reason codes from here on are refusals (MQTT 5, 2.4)."""

Inflight = dict[int, tuple[Pending, float]]
"""The sender's messages awaiting PUBACK: packet id -> (message, sent at, monotonic)."""

log = get_logger(__name__)


class Books(Protocol):
    """What is done with a delivered message (the ledger on a node)."""

    def acknowledged(self, destination: str, delivered: list[Pending]) -> None:
        """*destination* has *delivered*: close their books (now or later)."""
        ...

    def unsettled(self, destination: str) -> Collection[int]:
        """Sequence numbers delivered to *destination* whose books are still open: kept in
        the outbox, not to be sent again."""
        ...

    def retry(self) -> int:
        """Try again to close what is open; returns how many were closed."""
        ...


class OutboxBooks:
    """Books of a link without a ledger: the outbox forgets what was delivered; what it
    cannot forget now (a full disk) is tried again on the next acknowledgement."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._open: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def acknowledged(self, destination: str, delivered: list[Pending]) -> None:
        """Forget *delivered* (stored ones) in the outbox for *destination*."""
        with self._lock:
            self._open.setdefault(destination, set()).update(p.seq for p in delivered if p.seq)
        self.retry()

    def unsettled(self, destination: str) -> Collection[int]:
        """Delivered to *destination*, not yet forgotten by the outbox."""
        with self._lock:
            return set(self._open.get(destination, ()))

    def retry(self) -> int:
        """Forget in the outbox what is still open; returns how many were."""
        done = 0
        with self._lock:
            for destination, seqs in self._open.items():
                if not seqs:
                    continue
                try:
                    self.outbox.ack(destination, sorted(seqs))
                except OutboxError as e:
                    log.error("mqtt.ack_not_recorded", destination=destination,
                              waiting=len(seqs), error=str(e))  # fmt: skip
                    continue
                done += len(seqs)
                seqs.clear()
        return done


class PubAcks:
    """PUBACKs handed from paho's thread to the sender's, and what follows from each."""

    def __init__(
        self,
        destination: str,
        outbox: Outbox,
        stats: LinkStats,
        packets: PacketLimit,
        refusals: Refusals,
        *,
        wake: threading.Event,
        on_ack: Callable[[str, list[Pending]], None] | None = None,
        books: Books | None = None,
        memory: MemoryOffers | None = None,
    ) -> None:
        self.destination = destination
        self.outbox = outbox
        self.books: Books = books if books is not None else OutboxBooks(outbox)
        self.memory = memory
        self.stats = stats
        self.packets = packets
        self.refusals = refusals
        self._wake = wake
        self._on_ack = on_ack
        self._queue: queue.SimpleQueue[tuple[int, int, int, str]] = queue.SimpleQueue()

    def callback(self, generation: int) -> OnPublish:
        """paho's ``on_publish`` for the connection of *generation*."""

        def on_publish(_c: object, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
            # Runs in paho's loop holding paho's locks: only hand over, never block here.
            code = reason.value
            self._queue.put((generation, mid, code, str(reason) if code else "Success"))
            self._wake.set()

        return on_publish

    def drain(self, inflight: Inflight, generation: int) -> None:
        """Apply the PUBACKs received so far to the messages in *inflight*."""
        done: list[Pending] = []
        now = time.monotonic()
        while True:
            try:
                gen, mid, code, reason = self._queue.get_nowait()
            except queue.Empty:
                break
            if gen != generation or mid not in inflight:
                continue  # from an earlier connection: it will be sent again
            pending, sent = inflight.pop(mid)
            self.packets.delivered(pending.message.id)  # it crossed the wire either way
            if not pending.seq:  # sent from memory: no books (its stored copy has them)
                self._from_memory(pending, code, reason)
                continue
            if code >= FAILURE:
                self.refusals.refused(pending, code, reason, now)
                self._wake.set()  # room in the window for the other classes
                continue
            if code == NO_MATCHING_SUBSCRIBERS:
                self.stats.no_subscribers += 1
            done.append(pending)
            self.stats.ack_latency_s.append(now - sent)
            self.refusals.accepted(pending)
        if done:
            self.books.acknowledged(self.destination, done)  # audit, then out of the outbox
            self.stats.acked += len(done)
            if self._on_ack:
                self._on_ack(self.destination, done)
            self._wake.set()

    def _from_memory(self, pending: Pending, code: int, reason: str) -> None:
        if code >= FAILURE:
            self.stats.rejected += 1
            self.stats.refusals[reason] += 1
            if self.memory is not None:
                self.memory.unsent(pending.message.id)
        elif self.memory is not None:
            self.memory.delivered(pending.message.id)
