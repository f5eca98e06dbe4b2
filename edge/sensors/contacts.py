"""Dry-contact inputs (door, smoke, tamper, PIR, reset key) read with gpiozero.

The pin factory is passed in: gpiozero's default (lgpio) on a Pi, ``MockFactory`` in tests
and in the demo. Nothing here touches gpiozero's global ``Device.pin_factory``.

Each input reports a change at once (alarms must not wait for a debounce timer), then treats
further edges within ``debounce_s`` as contact bounce and re-reads the pin when that time has
passed. More than ``flap_changes`` raw edges within ``flap_window_s`` mean a faulty input:
one ``sensor_fault`` (at most every ``fault_holdoff_s``), silence until the input has been
quiet for ``flap_window_s``, then its state is reported again.

Those rules live in :class:`edge.sensors.contact_state.ContactMachine`, a pure state machine;
:class:`ContactInput` feeds it pin edges and timer ticks and turns what it reports into events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice

from edge.config.sensors import SensorConfig
from edge.core.ids import new_id
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.sensors.contact_state import Change, ContactMachine, Output

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

    gpiozero's callbacks read the pin and feed :attr:`machine`; one ``threading.Timer`` is
    kept set for the machine's next due time. All of it runs under one lock.
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
        self.machine = ContactMachine.from_config(cfg)
        self._lock = threading.RLock()
        self.last_change: float | None = None
        """Wall-clock time of the last state change reported."""
        self._occurrence: str | None = None
        self._fault_occurrence: str | None = None
        self._left_open_occurrence: str | None = None
        self._timer: threading.Timer | None = None
        self._timer_at: float | None = None
        self._timer_gen = 0
        self._closed = False

    @property
    def active(self) -> bool:
        """True when the contact is in its alarm state (read from the pin now)."""
        closed = bool(self.device.is_active)
        return (not closed) if self.cfg.active_when == "open" else closed

    @property
    def reported_active(self) -> bool:
        """The state last reported (what the rest of the node believes)."""
        return self.machine.reported

    @property
    def changes(self) -> int:
        """State changes reported."""
        return self.machine.changes

    @property
    def edges(self) -> int:
        """Raw edges seen (bounce and flapping included)."""
        return self.machine.edges

    @property
    def faults(self) -> int:
        """Sensor faults reported."""
        return self.machine.faults

    @property
    def flapping(self) -> bool:
        """True while the input flaps (its changes are not reported)."""
        return self.machine.flapping

    def start(self) -> None:
        """Report changes from now on; an input already active reports at once."""
        self.device.when_activated = self._edge
        self.device.when_deactivated = self._edge
        with self._lock:
            self._handle(self.machine.start(self._clock(), self.active))

    def close(self) -> None:
        """Release the pin and cancel timers."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
        self.device.close()

    # -- feeding the machine ----------------------------------------------------------------

    def _edge(self) -> None:
        now = self._clock()
        with self._lock:
            if self._closed:
                return
            self._handle(self.machine.edge(now, self.active))

    def _fire(self, gen: int) -> None:
        with self._lock:
            if self._closed or gen != self._timer_gen:
                return  # closed, or replaced by a timer for another time
            self._timer, self._timer_at = None, None
            self._handle(self.machine.tick(self._clock(), self.active))

    def _handle(self, outputs: list[Output]) -> None:
        for output in outputs:
            self._report(output)
        self._reschedule()

    def _reschedule(self) -> None:
        at = self.machine.due()
        if at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, at
        self._timer_gen += 1
        if at is None:
            return
        self._timer = threading.Timer(
            max(0.0, at - self._clock()), self._fire, args=(self._timer_gen,)
        )
        self._timer.daemon = True
        self._timer.start()

    # -- what the machine reports -----------------------------------------------------------

    def _report(self, output: Output) -> None:
        match output.change:
            case Change.ACTIVE | Change.INACTIVE:
                self._state_change(output)
            case Change.LEFT_OPEN_START:
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
            case Change.LEFT_OPEN_END:
                if self._left_open_occurrence is not None:
                    self._emit(
                        self._factory.make(
                            Kind.DOOR_LEFT_OPEN,
                            Severity.INFO,
                            State.END,
                            self._left_open_occurrence,
                            sensor=self.cfg.name,
                            data={"pin": self.cfg.pin, "open_s": round(output.seconds, 3)},
                        )
                    )
                    self._left_open_occurrence = None
            case Change.FLAPPING:
                log.warning(
                    "sensor.flapping",
                    sensor=self.cfg.name,
                    pin=self.cfg.pin,
                    edges=output.edges,
                    window_s=self.cfg.flap_window_s,
                )
            case Change.FAULT_START:
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
                            "edges": output.edges,
                            "window_s": self.cfg.flap_window_s,
                        },
                    )
                )
            case Change.STEADY:
                log.info("sensor.steady", sensor=self.cfg.name, pin=self.cfg.pin)
            case Change.FAULT_END:
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

    def _state_change(self, output: Output) -> None:
        self.last_change = time.time()
        active = output.change is Change.ACTIVE
        if self.cfg.kind == "reset":
            if active and self._on_reset is not None:
                log.info("sensor.reset", sensor=self.cfg.name)
                self._on_reset()
            return
        if active:
            self._occurrence = new_id()
            self._emit(self._event(State.START))
        elif self._occurrence is not None:
            self._emit(self._event(State.END, seconds=round(output.seconds, 3)))
            self._occurrence = None

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

    def status(self) -> dict[str, Any]:
        """For `edge sensors` and the heartbeat."""
        with self._lock:
            return {
                "name": self.cfg.name,
                "kind": self.cfg.kind,
                "pin": self.cfg.pin,
                "active": self.machine.reported,
                "contact": "closed" if self.device.is_active else "open",
                "changes": self.machine.changes,
                "edges": self.machine.edges,
                "flapping": self.machine.flapping,
                "faults": self.machine.faults,
                "last_change": self.last_change,
            }
