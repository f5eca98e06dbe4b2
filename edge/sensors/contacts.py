"""Dry-contact inputs (door, smoke, tamper, PIR) read with gpiozero.

The pin factory is passed in: gpiozero's default (lgpio) on a Pi, ``MockFactory`` in tests
and in the demo. Nothing here touches gpiozero's global ``Device.pin_factory``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice

from edge.config import SensorConfig
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.ids import new_id
from edge.logs import get_logger

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
    ) -> None:
        self.cfg = cfg
        self._factory = factory
        self._emit = emit
        self.changes = 0
        self.last_change: float | None = None
        self._occurrence: str | None = None
        self._since = 0.0
        self.device = DigitalInputDevice(
            cfg.pin,
            pull_up=cfg.pull_up,
            bounce_time=cfg.debounce_s or None,
            pin_factory=pin_factory,
        )

    def start(self) -> None:
        """Report changes from now on; an input already active reports at once."""
        self.device.when_activated = self._changed
        self.device.when_deactivated = self._changed
        if self.active:
            self._changed()

    @property
    def active(self) -> bool:
        """True when the contact is in its alarm state."""
        closed = bool(self.device.is_active)
        return (not closed) if self.cfg.active_when == "open" else closed

    def close(self) -> None:
        """Release the pin."""
        self.device.close()

    def _changed(self) -> None:
        now = time.time()
        self.changes += 1
        self.last_change = now
        active = self.active
        if active and self._occurrence is None:
            self._occurrence = new_id()
            self._since = now
            self._emit(self._event(State.START, now))
        elif not active and self._occurrence is not None:
            event = self._event(State.END, now, seconds=round(now - self._since, 3))
            self._occurrence = None
            self._emit(event)

    def _event(self, state: State, ts: float, **data: float) -> Event:
        assert self._occurrence is not None
        return self._factory.make(
            _KIND[self.cfg.kind],
            _SEVERITY[self.cfg.kind],
            state,
            self._occurrence,
            ts=ts,
            sensor=self.cfg.name,
            data={"pin": self.cfg.pin, **data},
        )
