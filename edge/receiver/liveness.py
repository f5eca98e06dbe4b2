"""``edge receive`` under systemd (``Type=notify``, ``WatchdogSec=``): READY once started,
``WATCHDOG=1`` every half watchdog interval while the writer makes progress, and the end of
the process when one of its threads dies.

* **A dead thread** (the writer, the supervision loop, the MQTT network thread, the
  dashboard's server) ends the process with a non-zero exit at once (systemd restarts it;
  what was not acknowledged comes again from the broker's persistent session). A thread
  never dies silently.
* **A wedged writer** (stuck inside one call: a database that hangs, a deadlock) withholds
  the ping: :meth:`~edge.receiver.service.Receiver.stalled_s` grows past the stall limit,
  the watchdog's own interval, and systemd kills and restarts the receiver.
* **A database that is away is not a wedge.** The writer tries again every few seconds
  (10 s at most), and each try counts as progress: systemd does not kill-loop a receiver
  that waits for PostgreSQL or for disk space; it stays up, acknowledges nothing and loses
  nothing. An idle writer (nothing arriving) beats several times a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from edge.core.logs import get_logger

log = get_logger(__name__)

TICK_S = 1.0
"""How often threads are looked at (pings go every ping interval)."""


class Notifier(Protocol):
    """What the loop uses of a systemd notifier (:class:`edge.node.notify.Notifier`)."""

    @property
    def ping_interval(self) -> float | None:
        """How often to feed the watchdog (None: no watchdog)."""
        ...

    @property
    def watchdog_s(self) -> float | None:
        """The watchdog's time (None: no watchdog)."""
        ...

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines."""
        ...


class Watched(Protocol):
    """What the loop needs of a receiver."""

    def dead(self) -> list[str]:
        """Threads that ended unasked (``name: why``)."""
        ...

    def stalled_s(self) -> float:
        """Seconds since the writer last showed progress."""
        ...


def run_until(
    receiver: Watched,
    stop: threading.Event,
    notifier: Notifier,
    *,
    also_dead: Callable[[], list[str]] = list,
) -> list[str]:
    """Send READY, then watch *receiver* until *stop* is set: returns the threads that
    died (empty after a clean stop), having fed the watchdog while the writer moved.
    *also_dead* names other dead threads (the dashboard's server)."""
    interval = notifier.ping_interval or TICK_S
    stall_s = notifier.watchdog_s or 60.0
    notifier.notify(READY=1, STATUS="receiving")
    log.info("receiver.ready", ping_s=interval, stall_s=stall_s)
    withheld = False
    due = time.monotonic()
    while not stop.wait(min(interval, TICK_S)):
        dead = receiver.dead() + also_dead()
        if dead:
            log.critical("receiver.thread_died", threads=dead, note="exiting: systemd restarts")
            notifier.notify(STATUS=f"thread died: {', '.join(dead)}"[:200])
            return dead
        if time.monotonic() < due:
            continue
        due = time.monotonic() + interval
        stalled = receiver.stalled_s()
        if stalled <= stall_s:
            notifier.notify(WATCHDOG=1)
            if withheld:
                log.warning("watchdog.resumed", stalled_s=round(stalled, 1))
            withheld = False
        elif not withheld:
            withheld = True
            log.error("watchdog.withheld", stalled_s=round(stalled, 1), stall_s=stall_s,
                      note="the writer is stuck: systemd will restart the receiver")  # fmt: skip
    notifier.notify(STOPPING=1)
    return []
