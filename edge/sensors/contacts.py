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
gpiozero's callbacks only record an edge; the panel's thread (:mod:`edge.sensors.loop`) runs
the machine and the event path, so a slow disk never stalls gpiozero's callback thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice

from edge.config.sensors import SensorConfig
from edge.core.errors import SensorError
from edge.core.ids import new_id
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.sensors.contact_state import Change, ContactMachine, Output
from edge.sensors.gpioerrors import device_key, opening, using
from edge.sensors.loop import PinLoop

log = get_logger(__name__)

_KIND = {"door": Kind.DOOR_OPEN, "smoke": Kind.SMOKE, "tamper": Kind.TAMPER, "pir": Kind.PIR}
_SEVERITY = {
    "door": Severity.WARNING,
    "smoke": Severity.CRITICAL,
    "tamper": Severity.ALARM,
    "pir": Severity.INFO,
}


START_S = 5.0
"""How long ``start`` waits for the first state to be handled (an input with its own loop)."""


class ContactInput:
    """One input. ``active`` means door open / smoke / tamper / presence, whatever the wiring.

    With the pull-up on, a closed contact pulls the pin low; gpiozero then reports the device
    active, so ``device.is_active`` always means *contact closed*.

    gpiozero's callbacks only record the edge (its level and time) on *loop*
    (:class:`edge.sensors.loop.PinLoop`, the panel's thread; an input made without one has a
    loop of its own). The loop feeds :attr:`machine` and reports what it says (``emit``: the
    event path), and keeps the machine's next due time as its deadline. The lock guards the
    machine against :meth:`status` readers only: nothing slow runs under it.
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
        loop: PinLoop | None = None,
        key: str | None = None,
    ) -> None:
        """Open the input's pin; raises :class:`edge.core.errors.SensorError` naming *key*
        (default ``sensors ('NAME')``) and the pin when it cannot be opened."""
        self.cfg = cfg
        self.key = key or device_key("sensors", None, cfg.name)
        self._factory = factory
        self._emit = emit
        self._on_reset = on_reset
        self._own_loop = loop is None
        self.loop = loop or PinLoop(f"gpio-{cfg.name}", clock)
        self.device = opening(
            self.key,
            cfg.pin,
            lambda: DigitalInputDevice(
                cfg.pin, pull_up=cfg.pull_up, bounce_time=None, pin_factory=pin_factory
            ),
        )
        self.machine = ContactMachine.from_config(cfg)
        self._lock = threading.Lock()
        self.last_change: float | None = None
        """Wall-clock time of the last state change reported."""
        self._occurrence: str | None = None
        self._fault_occurrence: str | None = None
        self._left_open_occurrence: str | None = None
        self._begun = False
        self._closed = False
        self._now = 0.0  # the machine's time never goes backwards

    @property
    def active(self) -> bool:
        """True when the contact is in its alarm state (read from the pin now)."""
        return self._alarm(self._closed_now())

    def _closed_now(self) -> bool:
        return bool(using(self.key, self.cfg.pin, "read", lambda: self.device.is_active))

    def _alarm(self, contact_closed: bool) -> bool:
        return (not contact_closed) if self.cfg.active_when == "open" else contact_closed

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
        """Raw edges handled (bounce and flapping included)."""
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
        """Report changes from now on; an input already active is reported first (on the
        loop, before any later edge). An input with its own loop returns once that first
        state is handled (``edge sensors`` prints it next)."""
        if self._own_loop:
            self.loop.start()
        self.device.when_activated = self._activated
        self.device.when_deactivated = self._deactivated
        self.loop.record(self._begin, self._closed_now())
        if self._own_loop:
            self.loop.settle(START_S)

    def detach(self) -> None:
        """Record no more edges (the panel's stop, before its loop handles what is left)."""
        if self.device.when_activated is not None:
            self.device.when_activated = None
        if self.device.when_deactivated is not None:
            self.device.when_deactivated = None

    def close(self) -> None:
        """Record no more edges, handle those recorded (an own loop), cancel the timer and
        release the pin."""
        self.detach()
        if self._own_loop:
            self.loop.shutdown(5.0)
        with self._lock:
            self._closed = True
        self.loop.cancel(self)
        self.device.close()

    # -- gpiozero's callback thread: record only ---------------------------------------------

    def _activated(self) -> None:
        self.loop.record(self._edge, True)

    def _deactivated(self) -> None:
        self.loop.record(self._edge, False)

    # -- the loop thread: feed the machine, report -------------------------------------------

    def _begin(self, contact_closed: bool, at: float) -> None:
        with self._lock:
            if self._closed:
                return
            self._begun = True
            outputs = self.machine.start(self._time(at), self._alarm(contact_closed))
        self._handle(outputs)

    def _edge(self, contact_closed: bool, at: float) -> None:
        with self._lock:
            if self._closed or not self._begun:
                return  # before the first read: that read is newer than this edge
            outputs = self.machine.edge(self._time(at), self._alarm(contact_closed))
        self._handle(outputs)

    def _tick(self, now: float) -> None:
        if self._closed:
            return
        try:
            active = self.active
        except SensorError as e:  # look again in a second; the fault is in the log
            log.error("sensor.read_failed", sensor=self.cfg.name, pin=self.cfg.pin, error=str(e))
            self.loop.at(self, now + 1.0, self._tick)
            return
        with self._lock:
            if self._closed:
                return
            outputs = self.machine.tick(self._time(now), active)
        self._handle(outputs)

    def _time(self, at: float) -> float:
        self._now = max(self._now, at)
        return self._now

    def _handle(self, outputs: list[Output]) -> None:
        due = self.machine.due()
        if due is None:
            self.loop.cancel(self)
        else:
            self.loop.at(self, due, self._tick)
        for output in outputs:
            self._report(output)

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
        self.last_change = time.time() - max(0.0, self.loop.clock() - output.at)
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
        """For `edge sensors`, `edge status` and the heartbeat (never waits for the event path;
        a pin that cannot be read says so instead of failing the heartbeat).

        ``contact`` and ``active_now`` are the pin's level now; ``active`` is the state last
        reported (what the events said). ``state`` is ``active`` or ``idle`` (as reported),
        or ``flapping`` while the input flaps: its events are silent then (until it has been
        quiet for ``flap_window_s``, when the settled state is reported), so its level now
        is what tells the operator whether the door is open."""
        try:
            closed: bool | None = self._closed_now()
            contact = "closed" if closed else "open"
        except SensorError as e:
            closed, contact = None, f"unreadable: {e}"
        with self._lock:
            flapping = self.machine.flapping
            reported = self.machine.reported
            return {
                "name": self.cfg.name,
                "kind": self.cfg.kind,
                "pin": self.cfg.pin,
                "state": "flapping" if flapping else ("active" if reported else "idle"),
                "active": reported,
                "active_now": None if closed is None else self._alarm(closed),
                "contact": contact,
                "changes": self.machine.changes,
                "edges": self.machine.edges,
                "flapping": flapping,
                "faults": self.machine.faults,
                "last_change": self.last_change,
            }
