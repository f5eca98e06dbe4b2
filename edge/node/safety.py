"""The last line of life safety: a node whose evidence parts cannot be built at all still runs
its GPIO.

The node's build copes with a missing or swapped key, a damaged audit log, a corrupt outbox
and a destination without its files (:mod:`edge.node.node`). Anything else that stops the
build and is not a configuration error (a disk so full that not even a fresh outbox can be
made, a state directory gone read-only) leaves the node here instead of exiting: the sensors,
sirens and status lamps run on their own (:class:`SafetyPanel`), each event sounds the siren
at once and waits in memory, in order, the lamp shows degraded (or alarm), ``STATUS=`` and
the log say why, the watchdog is fed, and the full build is tried again every
:data:`RETRY_S`. Once it succeeds the same panel (pins, sirens sounding) is handed to the
node, the events that waited are accepted by it (stored, signed, delivered), and the node
runs as usual. Events that wait here are in memory only: they are logged one by one
(``event.waiting``) and lost on a power cut, as the log says.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from edge.config.root import EdgeConfig
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.sensors.outputs import Status
from edge.sensors.panel import Panel

log = get_logger(__name__)

RETRY_S = 1.0
"""How often the full build is tried again (it fails early and cheaply: the state parts are
built before the detector's model is loaded)."""
TICK_S = 1.0


class SafetyPanel(Panel):
    """The node's GPIO panel whose events can be re-routed: first into memory (the siren
    hears of each at once), then, handed to the node, into its event path."""

    def __init__(self, cfg: EdgeConfig, pin_factory: Any) -> None:
        self.pin_factory = pin_factory
        self.waiting: list[Event] = []
        self._lock = threading.Lock()
        self._target: Callable[[Event], None] | None = None
        self._started = False
        super().__init__(cfg, EventFactory(cfg.node.id, cfg.node.site), self._emit, pin_factory)

    def _emit(self, event: Event) -> None:
        with self._lock:
            target = self._target
            if target is None:
                self.waiting.append(event)
        if target is not None:
            target(event)
            return
        self.on_event(event)  # the siren at once
        log.error(
            "event.waiting",
            id=event.id,
            kind=str(event.kind),
            severity=str(event.severity),
            sensor=event.sensor,
            waiting=len(self.waiting),
            note="in memory only until the node can store it",
        )

    def emit_to(self, accept: Callable[[Event], None]) -> None:
        """From now on events go to *accept* (the node's event path); those that waited go
        first, oldest first."""
        with self._lock:
            waiting, self.waiting = self.waiting, []
            self._target = accept
        for event in waiting:
            accept(event)
        if waiting:
            log.info("event.waiting_handed_over", events=len(waiting))

    def start(self) -> None:
        """Start the inputs (once: the node starts the panel it was handed again)."""
        if not self._started:
            self._started = True
            super().start()


def run_safely(
    cfg: EdgeConfig,
    build: Callable[[SafetyPanel], Any],
    why: str,
    stop: threading.Event,
    notifier: Any,
    *,
    pin_factory: Any = None,
    retry_s: float = RETRY_S,
    on_panel: Callable[[SafetyPanel], object] | None = None,
) -> Any:
    """Run the GPIO alone, telling systemd why, and try *build* (given the panel) every
    *retry_s*; returns what it built, or None on *stop* (the panel then closed).
    *on_panel* is told of the panel once it runs (SIGUSR1 silences its sirens)."""
    from edge.sensors.pins import make_pin_factory

    pins = pin_factory if pin_factory is not None else make_pin_factory(cfg)
    panel = SafetyPanel(cfg, pins)
    panel.start()
    if on_panel is not None:
        on_panel(panel)
    status = f"degraded: sensors and sirens only, the rest cannot start: {why}"
    log.error("node.safety_only", problem=why, retry_s=retry_s)
    notifier.notify(READY=1, STATUS=status[:200])
    interval = min(notifier.ping_interval or TICK_S, TICK_S)
    since, node, last = 0.0, None, why
    try:
        while not stop.wait(interval):
            notifier.notify(WATCHDOG=1)
            on = any(s.is_on for s in panel.sirens)
            panel.show(Status.ALARM if on else Status.DEGRADED)
            since += interval
            if since < retry_s:
                continue
            since = 0.0
            try:
                node = build(panel)
            except Exception as e:
                problem = " ".join(str(e).split()) or repr(e)
                if problem != last:  # once per problem, not once a second
                    log.error("node.build_failed", error=problem, retry_s=retry_s)
                    last = problem
                continue
            log.warning("node.safety_ended", note="the node was built: it takes over the GPIO")
            return node
        return None
    finally:
        if node is None:
            panel.stop()
