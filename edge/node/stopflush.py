"""On a clean stop the clips cut at the stop (and anything else queued) are sent before the
links close, within the node's stop budget.

The node stops its services in reverse start order (:mod:`edge.node.lifecycle`): cameras,
sensors, recorders (they cut their open clips), the clip finalizer (it writes, signs and
queues them), then this service, then the links. Its stop waits until every *connected*
destination has nothing left in the outbox, no longer than the stop budget allows: systemd
kills the process ``TimeoutStopSec`` after SIGTERM (:data:`STOP_BUDGET_S`), and the links
still need a moment to say ``offline`` and the stores to close (:data:`AFTER_FLUSH_S`). It also
stops waiting when nothing moves for :data:`STALL_S` (a destination refusing a message): what
is not sent stays in the outbox, on disk, for the next start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from edge.core.lifecycle import ServiceHealth
from edge.core.logs import get_logger

log = get_logger(__name__)

STOP_BUDGET_S = 20.0
"""``TimeoutStopSec`` of ``systemd/warehouse-edge.service`` (a test keeps them equal)."""
AFTER_FLUSH_S = 5.0
"""Kept from the budget for what follows the flush: the links' ``offline``, closing the
outbox and the clip store, the process's exit."""
STALL_S = 5.0
"""The flush gives up when the queue has not shrunk for this long (refused messages)."""


class Depth(Protocol):
    """The outbox as the flush sees it."""

    def depth(self) -> dict[str, dict[str, int]]:
        """Messages awaiting delivery per destination and class."""
        ...


class Named(Protocol):
    """A destination's config as the flush sees it."""

    @property
    def name(self) -> str:
        """The destination's name (the outbox's key)."""
        ...


class Link(Protocol):
    """A link as the flush sees it (``edge.link.mqtt.MqttLink``)."""

    @property
    def dest(self) -> Named:
        """Its destination."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the broker has accepted the connection."""
        ...

    def wake(self) -> None:
        """Look at the outbox now."""
        ...


class DeliveryFlush:
    """A service with nothing to start whose stop lets connected links deliver the outbox."""

    name = "delivery-flush"

    def __init__(
        self,
        outbox: Depth,
        links: Sequence[Link],
        *,
        budget_s: float = STOP_BUDGET_S,
        after_s: float = AFTER_FLUSH_S,
        stall_s: float = STALL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.links = links
        """Read at the stop: a link that started late (its files came) counts too."""
        self.budget_s = budget_s
        self.after_s = after_s
        self.stall_s = stall_s
        self.clock = clock
        self._began: float | None = None
        self.result: str | None = None
        """How the last flush ended: ``flushed``, ``stalled``, ``budget`` or ``offline``."""

    def begin(self) -> None:
        """The node starts stopping now: the budget counts from here (first call only)."""
        if self._began is None:
            self._began = self.clock()

    def start(self) -> None:
        """Nothing runs until the stop."""

    def stop(self) -> None:
        """Wait (bounded) until the connected destinations have received the outbox."""
        self.begin()
        assert self._began is not None
        deadline = self._began + self.budget_s - self.after_s
        t0 = self.clock()
        for link in self.links:
            link.wake()
        best, moved = self._pending() or 0, t0
        while True:
            left = self._pending()
            now = self.clock()
            if left is None or left == 0:
                self.result = "offline" if left is None else "flushed"
                break
            if left < best or best == 0:
                best, moved = left, now
            if now - moved >= self.stall_s:
                self.result = "stalled"
                break
            if now >= deadline:
                self.result = "budget"
                break
            time.sleep(0.05)
        log.info(
            "delivery.flushed" if self.result in ("flushed", "offline") else "delivery.flush_cut",
            result=self.result,
            left=left or 0,
            waited_s=round(self.clock() - t0, 3),
        )

    def _pending(self) -> int | None:
        """Messages awaiting the connected destinations (None: none is connected)."""
        connected = {link.dest.name for link in self.links if link.connected}
        if not connected:
            return None
        depth = self.outbox.depth()
        return sum(sum(depth.get(name, {}).values()) for name in connected)

    def join(self, timeout: float | None = None) -> bool:
        """Nothing to wait for (the stop itself waited)."""
        return True

    def health(self) -> ServiceHealth:
        """Always alive: it owns no thread."""
        return ServiceHealth(self.name, True)
