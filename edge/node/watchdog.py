"""Run a node under systemd: READY once started, WATCHDOG while it makes progress, a STATUS
line that says what is wrong, STOPPING.

``WATCHDOG=1`` goes out every ping interval (half ``WatchdogSec``) while the node's
:class:`~edge.node.liveness.LivenessCheck` finds nothing wedged and no service thread dead; it
is withheld otherwise, so systemd restarts a stuck process. An unreachable camera is no reason
to withhold it (see :mod:`edge.node.liveness`). ``STATUS=`` (:mod:`edge.node.statusline`) is
sent with READY, then whenever the line changes, at most every ``status_every_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from edge.core.lifecycle import ServiceHealth
from edge.core.logs import get_logger
from edge.node.liveness import LivenessCheck, Vitals, stall_limit
from edge.node.status import Parts, node_state
from edge.node.statusline import StatusBoard

log = get_logger(__name__)

DEFAULT_PING_S = 5.0
"""Loop interval when systemd asked for no watchdog (nothing is pinged then)."""
STATUS_EVERY_S = 5.0
"""The status line is sent on change, at most this often."""
TICK_S = 1.0
"""How often the loop looks at the node (pings are due every ping interval)."""


@runtime_checkable
class Standing(Protocol):
    """A node that runs without some of its parts says which (``Node.standing``)."""

    def standing(self) -> list[str]:
        """Reasons for what the node runs without (they lead the status line)."""
        ...


class Runnable(Parts, Protocol):
    """What the watchdog loop needs of a node: its parts (for the status line), its liveness
    check, start and stop."""

    vitals: LivenessCheck

    def start(self) -> None:
        """Start everything."""

    def stop(self) -> object:
        """Stop everything."""


def run_until(
    node: Runnable,
    stop: threading.Event,
    notifier: Any,
    *,
    status_every_s: float = STATUS_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run *node* until *stop* is set, feeding the systemd watchdog while it makes progress
    and keeping its status line current."""
    node.start()
    interval = notifier.ping_interval or DEFAULT_PING_S
    node.vitals.stall_s = stall_limit(notifier.ping_interval)
    board = StatusBoard(clock)
    vitals = _check(node)
    line = _line(board, node, vitals) or "running"
    notifier.notify(READY=1, STATUS=line)
    log.info("node.ready", status=line, ping_s=interval, stall_s=node.vitals.stall_s)
    sent_at = next_ping = clock()
    while not stop.wait(min(interval, TICK_S)):
        now = clock()
        before, vitals = vitals, _check(node)
        _log_changes(before, vitals)
        fields: dict[str, str | int] = {}
        if now >= next_ping:
            next_ping = now + interval
            if vitals.alive:
                fields["WATCHDOG"] = 1
        if now - sent_at >= status_every_s:
            new = _line(board, node, vitals)
            if new is not None and new != line:
                fields["STATUS"] = line = new
                sent_at = now
        if fields:
            notifier.notify(**fields)
    notifier.notify(STOPPING=1)
    node.stop()


def _check(node: Runnable) -> Vitals:
    """The node's vitals; a check that fails (a bug) counts as a dead watchdog service, so
    the ping is withheld rather than fed blindly."""
    try:
        return node.vitals.check()
    except Exception as e:
        log.exception("watchdog.check_failed")
        return Vitals(dead=(ServiceHealth("watchdog", False, f"check failed: {e!r}"),))


def _line(board: StatusBoard, node: Runnable, vitals: Vitals) -> str | None:
    """The status line, or None when it cannot be made now (logged; the watchdog goes on)."""
    try:
        standing = node.standing() if isinstance(node, Standing) else ()
        return board.line(node, node_state(node, vitals, standing), vitals)
    except Exception:
        log.exception("watchdog.status_failed")
        return None


def _log_changes(before: Vitals, now: Vitals) -> None:
    """Log stalls and dead threads as they appear, the watchdog withheld and resumed."""
    old = set(before.reasons)
    for s in now.stalls:
        if s.reason not in old:
            log.error(
                "node.stalled", stage=s.kind, name=s.name, seconds=s.seconds, waiting=s.waiting
            )
    for d in now.dead:
        if f"service_dead:{d.name}" not in old:
            log.error("node.service_dead", service=d.name, detail=d.detail)
    if before.alive and not now.alive:
        log.error("watchdog.withheld", reasons=list(now.reasons), note="systemd will restart")
    elif now.alive and not before.alive:
        log.warning("watchdog.resumed", cleared=sorted(old))
