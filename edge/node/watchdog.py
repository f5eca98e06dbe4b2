"""Run a node under systemd: READY once started, WATCHDOG while it is alive, STOPPING."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from edge.core.logs import get_logger

log = get_logger(__name__)


class Runnable(Protocol):
    """What the watchdog loop needs of a node."""

    def start(self) -> None:
        """Start everything."""

    def alive(self) -> bool:
        """Whether the watchdog may be fed."""
        ...

    def stop(self) -> None:
        """Stop everything."""


def run_until(node: Runnable, stop: threading.Event, notifier: Any) -> None:
    """Run *node* until *stop* is set, feeding the systemd watchdog while it is healthy."""
    node.start()
    notifier.notify(READY=1, STATUS="running")
    interval = notifier.ping_interval or 5.0
    while not stop.wait(interval):
        if node.alive():
            notifier.notify(WATCHDOG=1)
        else:
            log.error("node.unhealthy", note="withholding watchdog ping")
    notifier.notify(STOPPING=1)
    node.stop()
