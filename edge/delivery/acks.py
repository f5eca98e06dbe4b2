"""What a PUBACK means for the message it acknowledges.

paho reports each PUBACK on its network thread, holding its locks: the callback only hands
it over; the sender thread drains them. Reason codes below 0x80 are successes (0x00, and
0x10 No matching subscribers: the broker took the message but nobody subscribes, counted so
the heartbeat can say nobody listens); from 0x80 on the broker refused the message, which
stays in the outbox (:mod:`edge.delivery.refusals`). MQTT 3.1.1 PUBACKs carry no reason:
always a success, even when the broker dropped the message.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from edge.delivery.linkstats import LinkStats
from edge.delivery.message import Pending
from edge.delivery.outbox import Outbox
from edge.delivery.packet_limit import PacketLimit
from edge.delivery.refusals import Refusals

NO_MATCHING_SUBSCRIBERS = 0x10
FAILURE = 0x80
"""Reason codes from here on are refusals (MQTT 5, 2.4)."""

Inflight = dict[int, tuple[Pending, float]]
"""The sender's messages awaiting PUBACK: packet id -> (message, sent at, monotonic)."""


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
    ) -> None:
        self.destination = destination
        self.outbox = outbox
        self.stats = stats
        self.packets = packets
        self.refusals = refusals
        self._wake = wake
        self._on_ack = on_ack
        self._queue: queue.SimpleQueue[tuple[int, int, int, str]] = queue.SimpleQueue()

    def callback(self, generation: int) -> Callable[..., None]:
        """paho's ``on_publish`` for the connection of *generation*."""

        def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
            # Runs in paho's loop holding paho's locks: only hand over, never block here.
            code = int(getattr(reason, "value", 0) or 0)
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
            self.outbox.ack(self.destination, [p.seq for p in done])
            self.stats.acked += len(done)
            if self._on_ack:
                self._on_ack(self.destination, done)
            self._wake.set()
