"""Dry-contact inputs (door, smoke, tamper, PIR, reset key) read with gpiozero.

The pin factory is passed in: gpiozero's default (lgpio) on a Pi, ``MockFactory`` in tests
and in the demo. Nothing here touches gpiozero's global ``Device.pin_factory``.

Each input reports a change at once (alarms must not wait for a debounce timer), then treats
further edges within ``debounce_s`` as contact bounce and re-reads the pin when that time has
passed. More than ``flap_changes`` raw edges within ``flap_window_s`` mean a faulty input:
one ``sensor_fault`` (at most every ``fault_holdoff_s``), silence until the input has been
quiet for ``flap_window_s``, then its state is reported again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice

from edge.config.sensors import SensorConfig
from edge.core.ids import new_id
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State

log = get_logger(__name__)

_KIND = {"door": Kind.DOOR_OPEN, "smoke": Kind.SMOKE, "tamper": Kind.TAMPER, "pir": Kind.PIR}
_SEVERITY = {
    "door": Severity.WARNING,
    "smoke": Severity.CRITICAL,
    "tamper": Severity.ALARM,
    "pir": Severity.INFO,
}


class ContactInput:
    """One input. ``active`` means door open / smoke / tamper / presence, whatever the wiring.

    With the pull-up on, a closed contact pulls the pin low; gpiozero then reports the device
    active, so ``device.is_active`` always means *contact closed*.
    """

    def __init__(
        self,
        cfg: SensorConfig,
        factory: EventFactory,
        emit: Callable[[Event], None],
        pin_factory: Any = None,
        *,
        on_reset: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self._factory = factory
        self._emit = emit
        self._on_reset = on_reset
        self._clock = clock
        self.device = DigitalInputDevice(
            cfg.pin, pull_up=cfg.pull_up, bounce_time=None, pin_factory=pin_factory
        )
        self._lock = threading.RLock()
        self.changes = 0
        """State changes reported."""
        self.edges = 0
        """Raw edges seen (bounce and flapping included)."""
        self.faults = 0
        self.last_change: float | None = None
        self.flapping = False
        self._reported = False
        self._occurrence: str | None = None
        self._since = 0.0
        self._lockout_until = 0.0
        self._recent: deque[float] = deque()
        self._last_edge = 0.0
        self._last_fault = -1e18
        self._fault_occurrence: str | None = None
        self._recheck: threading.Timer | None = None
        self._left_open: threading.Timer | None = None
        self._left_open_occurrence: str | None = None
        self._closed = False

    @property
    def active(self) -> bool:
        """True when the contact is in its alarm state (read from the pin now)."""
        closed = bool(self.device.is_active)
        return (not closed) if self.cfg.active_when == "open" else closed

    @property
    def reported_active(self) -> bool:
        """The state last reported (what the rest of the node believes)."""
        return self._reported

    def start(self) -> None:
        """Report changes from now on; an input already active reports at once."""
        self.device.when_activated = self._edge
        self.device.when_deactivated = self._edge
        with self._lock:
            if self.active:
                self._apply(True, self._clock())

    def close(self) -> None:
        """Release the pin and cancel timers."""
        with self._lock:
            self._closed = True
            for t in (self._recheck, self._left_open):
                if t is not None:
                    t.cancel()
        self.device.close()

    # -- edges ------------------------------------------------------------------------------

    def _edge(self) -> None:
        now = self._clock()
        with self._lock:
            if self._closed:
                return
            self.edges += 1
            self._last_edge = now
            self._recent.append(now)
            while self._recent and now - self._recent[0] > self.cfg.flap_window_s:
                self._recent.popleft()
            if self.flapping:
                return
            if len(self._recent) > self.cfg.flap_changes:
                self._start_flapping(now)
                return
            if now < self._lockout_until:
                self._schedule(self._lockout_until - now)  # bounce: look again afterwards
                return
            self._apply(self.active, now)
            self._lockout_until = now + self.cfg.debounce_s

    def _schedule(self, delay: float) -> None:
        if self._recheck is not None and self._recheck.is_alive():
            return
        self._recheck = threading.Timer(max(0.0, delay), self._look_again)
        self._recheck.daemon = True
        self._recheck.start()

    def _look_again(self) -> None:
        with self._lock:
            self._recheck = None  # this timer has fired: a new one may be scheduled
            if self._closed:
                return
            now = self._clock()
            if self.flapping:
                quiet = now - self._last_edge
                if quiet < self.cfg.flap_window_s:
                    self._schedule(self.cfg.flap_window_s - quiet)
                    return
                self._stop_flapping(now)
            self._apply(self.active, now)

    # -- flapping ---------------------------------------------------------------------------

    def _start_flapping(self, now: float) -> None:
        self.flapping = True
        log.warning(
            "sensor.flapping",
            sensor=self.cfg.name,
            pin=self.cfg.pin,
            edges=len(self._recent),
            window_s=self.cfg.flap_window_s,
        )
        if now - self._last_fault >= self.cfg.fault_holdoff_s:
            self._last_fault = now
            self.faults += 1
            self._fault_occurrence = new_id()
            self._emit(
                self._factory.make(
                    Kind.SENSOR_FAULT,
                    Severity.WARNING,
                    State.START,
                    self._fault_occurrence,
                    sensor=self.cfg.name,
                    data={
                        "pin": self.cfg.pin,
                        "reason": "flapping",
                        "edges": len(self._recent),
                        "window_s": self.cfg.flap_window_s,
                    },
                )
            )
        self._schedule(self.cfg.flap_window_s)

    def _stop_flapping(self, now: float) -> None:
        self.flapping = False
        self._recent.clear()
        log.info("sensor.steady", sensor=self.cfg.name, pin=self.cfg.pin)
        if self._fault_occurrence is not None:
            self._emit(
                self._factory.make(
                    Kind.SENSOR_FAULT,
                    Severity.INFO,
                    State.END,
                    self._fault_occurrence,
                    sensor=self.cfg.name,
                    data={"pin": self.cfg.pin, "reason": "flapping"},
                )
            )
            self._fault_occurrence = None

    # -- state changes ----------------------------------------------------------------------

    def _apply(self, active: bool, now: float) -> None:
        if active == self._reported:
            return
        self._reported = active
        self.changes += 1
        self.last_change = time.time()
        if self.cfg.kind == "reset":
            if active and self._on_reset is not None:
                log.info("sensor.reset", sensor=self.cfg.name)
                self._on_reset()
            return
        if active:
            self._occurrence = new_id()
            self._since = now
            self._emit(self._event(State.START))
            if self.cfg.kind == "door":
                self._arm_left_open()
        elif self._occurrence is not None:
            self._emit(self._event(State.END, seconds=round(now - self._since, 3)))
            self._occurrence = None
            self._clear_left_open(now)

    def _event(self, state: State, **data: float) -> Event:
        assert self._occurrence is not None
        return self._factory.make(
            _KIND[self.cfg.kind],
            _SEVERITY[self.cfg.kind],
            state,
            self._occurrence,
            sensor=self.cfg.name,
            data={"pin": self.cfg.pin, "cameras": list(self.cfg.cameras), **data},
        )

    def _arm_left_open(self) -> None:
        self._left_open = threading.Timer(self.cfg.left_open_s, self._door_left_open)
        self._left_open.daemon = True
        self._left_open.start()

    def _door_left_open(self) -> None:
        with self._lock:
            if self._closed or not self._reported or self._left_open_occurrence is not None:
                return
            self._left_open_occurrence = new_id()
            self._emit(
                self._factory.make(
                    Kind.DOOR_LEFT_OPEN,
                    Severity.WARNING,
                    State.START,
                    self._left_open_occurrence,
                    sensor=self.cfg.name,
                    data={
                        "pin": self.cfg.pin,
                        "after_s": self.cfg.left_open_s,
                        "cameras": list(self.cfg.cameras),
                    },
                )
            )

    def _clear_left_open(self, now: float) -> None:
        if self._left_open is not None:
            self._left_open.cancel()
            self._left_open = None
        if self._left_open_occurrence is not None:
            self._emit(
                self._factory.make(
                    Kind.DOOR_LEFT_OPEN,
                    Severity.INFO,
                    State.END,
                    self._left_open_occurrence,
                    sensor=self.cfg.name,
                    data={"pin": self.cfg.pin, "open_s": round(now - self._since, 3)},
                )
            )
            self._left_open_occurrence = None

    def status(self) -> dict[str, Any]:
        """For `edge sensors` and the heartbeat."""
        with self._lock:
            return {
                "name": self.cfg.name,
                "kind": self.cfg.kind,
                "pin": self.cfg.pin,
                "active": self._reported,
                "contact": "closed" if self.device.is_active else "open",
                "changes": self.changes,
                "edges": self.edges,
                "flapping": self.flapping,
                "faults": self.faults,
                "last_change": self.last_change,
            }
