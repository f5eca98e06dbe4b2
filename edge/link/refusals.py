"""Messages the broker refused: an MQTT 5 PUBACK with a failure reason code (0x87 Not
authorized, 0x97 Quota exceeded, 0x99 Payload format invalid...).

A refused message stays in the outbox and is tried again on the same connection, after a
jittered backoff (1 s doubling to a cap). It keeps its place among the messages of its
class on the same sub-topic (its *lane*: ``events``, ``clips``, ``snapshots``, ``health``,
the first level under the node's topic, which is what broker ACLs tell apart): while the
oldest refused message of a lane (its *head*) waits, the later messages of that lane wait
behind it, unsent; the other lanes go on, so a broker that denies ``snapshots/#`` holds the
snapshots only, never the clips. Each refusal is counted per reason, and the link's
``delivery_error`` names the broker's reason and the topic until the head goes through.

Messages already on the wire when the first refusal of a class arrives cannot be called
back: a broker that refuses one and takes the next (a quota freed in between) delivers them
out of order. A broker that refuses by rule (an ACL) refuses them all, and they go in order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from edge.core.backoff import Backoff
from edge.core.logs import get_logger
from edge.link.linkstats import LinkStats
from edge.outbox.message import Pending, Priority
from edge.outbox.store import Outbox

Lane = tuple[Priority, str]
"""A class and a sub-topic family (``(CLIP, "snapshots")``): what one refusal holds back."""


def lane_of(p: Pending) -> Lane:
    """The lane of *p*: its class and the first level of its topic."""
    return p.message.priority, p.message.topic.split("/", 1)[0]


log = get_logger(__name__)

RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 30.0


@dataclass
class _Blocked:
    """A class whose oldest refused message waits for its next try."""

    head: Pending
    topic: str
    reason: str
    code: int
    backoff: Backoff
    due: float = 0.0
    since: float = field(default_factory=time.monotonic)


class Refusals:
    """The refused classes of one link, their retry times and the report of them."""

    def __init__(
        self,
        destination: str,
        stats: LinkStats,
        topic: Callable[[str], str],
        *,
        retry_max_s: float = RETRY_MAX_S,
        rng: random.Random | None = None,
    ) -> None:
        self.destination = destination
        self.stats = stats
        self.retry_max_s = retry_max_s
        self._topic = topic
        self._rng = rng
        self._blocked: dict[Lane, _Blocked] = {}
        self._error: str | None = None  # the delivery_error this sets, cleared by it

    # -- what the PUBACKs say ---------------------------------------------------------------

    def refused(self, p: Pending, code: int, reason: str, now: float) -> None:
        """The broker refused *p* with reason *code* (named *reason*)."""
        self.stats.rejected += 1
        self.stats.refusals[reason] += 1
        lane = lane_of(p)
        topic = self._topic(p.message.topic)
        b = self._blocked.get(lane)
        if b is None:
            initial = min(RETRY_INITIAL_S, self.retry_max_s)
            backoff = Backoff(initial, self.retry_max_s, self._rng)
            b = self._blocked[lane] = _Blocked(p, topic, reason, code, backoff)
        elif p.seq > b.head.seq:
            # it waits behind the head (its class is left out of the outbox queries)
            log.error(
                "mqtt.publish_refused",
                destination=self.destination,
                id=p.message.id,
                topic=topic,
                reason=reason,
                code=f"0x{code:02x}",
                waits_behind=b.head.message.id,
            )
            return
        elif p.seq < b.head.seq:
            b.head, b.topic = p, topic  # the older one leads; the newer waits in the outbox
        b.reason, b.code = reason, code
        delay = b.backoff.next()
        b.due = now + delay
        log.error(
            "mqtt.publish_refused",
            destination=self.destination,
            id=p.message.id,
            topic=topic,
            reason=reason,
            code=f"0x{code:02x}",
            retry_in_s=round(delay, 2),
        )
        self._report()

    def accepted(self, p: Pending) -> None:
        """The broker took *p*: when it was the head of a refused lane, the lane flows."""
        b = self._blocked.get(lane_of(p))
        if b is not None and b.head.seq == p.seq:
            self.forget(p)
            log.info(
                "mqtt.refusal_cleared",
                destination=self.destination,
                id=p.message.id,
                topic=b.topic,
                refused_for_s=round(time.monotonic() - b.since, 1),
            )

    def forget(self, p: Pending) -> None:
        """*p* left the outbox (delivered, or its file is gone): when it was the head of a
        refused lane, the lane flows again."""
        b = self._blocked.get(lane_of(p))
        if b is not None and b.head.seq == p.seq:
            del self._blocked[lane_of(p)]
            self._report()

    # -- what the sender may send -----------------------------------------------------------

    def due(self, now: float, busy: Iterable[int]) -> list[Pending]:
        """The heads whose next try is due and which are not in flight, most urgent first."""
        in_flight = set(busy)
        heads = []
        for lane in sorted(self._blocked):
            b = self._blocked[lane]
            if b.due > now or b.head.seq in in_flight:
                continue
            expires = b.head.message.expires
            if expires is not None and expires <= time.time():
                del self._blocked[lane]  # the outbox expires it (counted there)
                self._report()
                continue
            heads.append(b.head)
        return heads

    def pending(
        self,
        outbox: Outbox,
        destination: str,
        n: int,
        skip: Iterable[int],
        max_priority: Priority | None,
    ) -> list[Pending]:
        """Up to *n* pending messages of the lanes not held behind a refused head, in
        class order and sequence order within a class, leaving out *skip* (in flight)."""
        held = tuple(self._blocked)  # those lanes wait: the outbox leaves them out (in SQL)
        return outbox.pending(destination, n, skip=skip, max_priority=max_priority, held=held)

    def blocked(self, priority: Priority, family: str | None = None) -> bool:
        """True while a head of *priority* (on the sub-topic *family*, if given) is refused."""
        return any(p == priority and family in (None, f) for p, f in self._blocked)

    # -- reporting --------------------------------------------------------------------------

    def describe(self) -> str | None:
        """The refusal of the most urgent held class, in words; None when none is held."""
        if not self._blocked:
            return None
        lane = min(self._blocked)
        b = self._blocked[lane]
        return (
            f"broker refused message {b.head.message.id} on topic {b.topic}: {b.reason} "
            f"(0x{b.code:02x}); retried with backoff, later {lane[0].name.lower()} messages "
            f"on {lane[1]} wait behind it"
        )

    def _report(self) -> None:
        """Set or clear the link's delivery_error, unless it holds another problem."""
        text = self.describe()
        if self.stats.delivery_error is None or self.stats.delivery_error == self._error:
            self.stats.delivery_error = text
        self._error = text
