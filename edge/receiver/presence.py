"""Whether a node is online, from its retained ``status``, and why a broker restart is no
alarm.

A node's status is ``online`` when it connects, ``offline`` when it stops cleanly, and
``offline`` as its last will when its connection is lost: the broker publishes the will,
after the node's ``will_delay_s`` (MQTT 5 Will Delay Interval) unless it is back by then.
Every status of one connection carries that connection's start (``connected``), so a
status older than the one stored (a will delivered late through another receiver's
session) changes nothing, and a retained status sent again on a re-subscription is not
news.

mosquitto (2.0.11, seen in ``tests/receiver/test_presence.py``) publishes every client's
will at once when it stops, will delay or not: a receiver then sees ``offline`` for every
node, just before its own connection drops, from its persistent session after it
reconnects, and retained when it subscribes again; the nodes say ``online`` again within
their reconnect backoff. So an ``offline`` is not alerted when it arrives. It is judged
:data:`CONFIRM_S` later (:meth:`Presence.judge`, from the supervision loop). One that
arrived while this receiver's own connection to the broker was down, up to
:data:`CONFIRM_S` before it dropped, or within ``restart_grace_s`` after it came back may be
the broker's doing: it is judged again when that grace has passed (the nodes are back within
their reconnect backoff by then). If its node said ``online`` meanwhile it is put down to the
broker (logged ``node.offline_status_ignored``, no alert); if the node is still offline, it
raises ``node_offline`` then (a node that died across a broker restart is reported within the
grace, not only by its silence). Any other ``offline`` raises ``node_offline`` at once, with
the time the node went offline: the will's arrival less its ``will_delay_s``, as the will
itself is written when the connection begins.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.messages import Accepted
from edge.receiver.store import presencerows
from edge.receiver.store.database import Cursor, Database

log = get_logger(__name__)

CONFIRM_S = 5.0
"""An ``offline`` status is judged this long after it arrived: the wills mosquitto sends as
it stops arrive moments before the receiver's connection drops."""

CAUSES = ("connection_lost", "stopped")
"""Why a node said ``offline``: its last will, or a clean stop."""

MAX_WILL_DELAY_S = 3600
"""The most ``will_delay_s`` a node may set (``DestinationConfig.will_delay_s``)."""


def _number(value: object) -> float | None:
    """A finite JSON number, else None (a bool is no number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def news(offline: bool, key: float | None, known: float | None, already_offline: bool) -> bool:
    """Does a status change what is stored? *key* is its connection's start, *known* the
    stored status's. A status of an earlier connection is stale; of the same connection
    only its ``offline`` after its ``online`` counts (a retained status sent again is not
    news); without keys (a node of an earlier version) an ``offline`` counts when the node
    is not offline already, an ``online`` always."""
    if key is not None and known is not None:
        if key != known:
            return key > known
        return offline and not already_offline
    return not already_offline if offline else True


def apply_status(cur: Cursor, a: Accepted, now: float) -> list[AlertOp]:
    """Store one status of an enrolled node (inside the commit's transaction): ``online``
    clears ``node_offline`` at once; ``offline`` only records when and why, for
    :meth:`Presence.judge`."""
    data = a.data
    offline = data.get("state") == "offline"
    key = _number(data.get("connected"))
    row = presencerows.status_of(cur, a.site, a.node)
    if row is None:
        return []
    known = _number(row[2])
    if not news(offline, key, known, already_offline=not row[0] and row[1] is not None):
        if key is not None and known is not None and key < known:
            log.info("node.status_stale", site=a.site, node=a.node, state=data.get("state"))
        return []
    if not offline:
        presencerows.mark_online(cur, a.site, a.node, now, key)
        return [AlertOp(False, AlertKind.NODE_OFFLINE, a.site, a.node)]
    delay = _number(data.get("will_delay_s")) or 0.0
    cause = data.get("cause")
    presencerows.mark_offline(cur, (a.site, a.node), now,
                              since=now - min(max(delay, 0.0), MAX_WILL_DELAY_S),
                              cause=cause if cause in CAUSES else "unknown",
                              connected=key)  # fmt: skip
    return []


class LinkWatch:
    """When this receiver's connection to the broker was down (thread-safe: the MQTT thread
    reports, the supervision thread asks). Down from the start until the first connect."""

    def __init__(self, grace_s: float, clock: Callable[[], float] = time.time) -> None:
        self.grace_s = grace_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = clock()
        self._outages: list[tuple[float, float]] = []
        """(lost, back) of the outages still within reach of a status being judged."""

    def lost(self) -> None:
        """The connection dropped (or a connect failed)."""
        with self._lock:
            if self._down_since is None:
                self._down_since = self._clock()

    def back(self) -> None:
        """The broker accepted a connection."""
        with self._lock:
            now = self._clock()
            if self._down_since is not None:
                self._outages.append((self._down_since, now))
                self._down_since = None
            horizon = now - self.grace_s - 3600  # statuses are judged within seconds
            self._outages = [o for o in self._outages if o[1] >= horizon]

    def settles(self, at: float) -> float | None:
        """When a status that arrived at *at* can be judged, if an outage of this receiver's
        connection may explain it (it arrived while down, :data:`CONFIRM_S` before it or up
        to ``grace_s`` after it): the reconnect plus ``grace_s``, infinity while still down.
        None: no outage explains it (judge it now)."""
        with self._lock:
            if self._down_since is not None and at >= self._down_since - CONFIRM_S:
                return math.inf
            for lost, back in self._outages:
                if lost - CONFIRM_S <= at <= back + self.grace_s:
                    return back + self.grace_s
            return None

    def explains(self, at: float) -> bool:
        """Did a status arriving at *at* come with an outage of this receiver's connection?"""
        return self.settles(at) is not None


class Presence:
    """Judges the ``offline`` statuses stored since the last round (each once)."""

    def __init__(
        self,
        link: LinkWatch,
        *,
        confirm_s: float = CONFIRM_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.confirm_s = confirm_s
        self._clock = clock
        self.judged = clock()
        """Statuses stored up to this time are judged (those before this process started
        are another process's; the heartbeat rule covers them)."""
        self.ignored = 0
        """Offline statuses put down to an outage of this receiver's connection."""
        self.pending: dict[tuple[str, str], float] = {}
        """(site, node) -> arrival of an ``offline`` not judged yet."""

    def judge(self, db: Database) -> list[AlertOp]:
        """``node_offline`` for each node whose ``offline`` stands :data:`CONFIRM_S` after
        it arrived, or, where an outage of this receiver's connection may explain it, still
        stands when the outage's grace has passed."""
        now = self._clock()
        until = now - self.confirm_s
        rows = presencerows.offline_statuses(db, self.judged, until)
        self.judged = max(self.judged, until)
        for site, node, at in rows:
            self.pending[(site, node)] = at
        ops = []
        for key, at in list(self.pending.items()):
            if now < (self.link.settles(at) or 0.0):
                continue
            del self.pending[key]
            op = self._verdict(db, key, at)
            if op is not None:
                ops.append(op)
        return ops

    def _verdict(self, db: Database, key: tuple[str, str], at: float) -> AlertOp | None:
        """The alert for the ``offline`` that arrived at *at*, if it still stands."""
        site, node = key
        row = presencerows.presence_of(db, site, node)
        stands = row is not None and not row[0] and row[1] is not None
        if row is None or not stands or float(row[3]) != at:
            if self.link.explains(at):
                self.ignored += 1
                log.info("node.offline_status_ignored", site=site, node=node,
                         why="this receiver lost the broker then (a broker restart)")  # fmt: skip
            return None
        since, cause = row[1], row[2]
        when = datetime.fromtimestamp(float(since), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        detail = f"status offline ({cause}) since {when}"
        return AlertOp(True, AlertKind.NODE_OFFLINE, site, node, "", detail)
