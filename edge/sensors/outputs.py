"""Outputs: a siren/strobe relay for alarms, a status lamp for whoever walks past the node.

A siren's end is a deadline on the panel's loop (:class:`edge.sensors.loop.PinLoop`), not a
timer thread of its own. Opening a pin that cannot be used raises
:class:`edge.core.errors.SensorError` naming the output and its pin.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Any

from gpiozero import LED, DigitalOutputDevice

from edge.config.sensors import OutputConfig
from edge.core.logs import get_logger
from edge.events.model import Event, Severity, State
from edge.sensors.gpioerrors import device_key, opening, using
from edge.sensors.loop import PinLoop

log = get_logger(__name__)


class Siren:
    """Switched on by alarm events of its kinds; off after ``duration_s`` or on reset."""

    def __init__(
        self,
        cfg: OutputConfig,
        pin_factory: Any = None,
        *,
        loop: PinLoop | None = None,
        key: str | None = None,
    ) -> None:
        """*loop*: the panel's (a siren made alone starts its own on first sound)."""
        self.cfg = cfg
        self.key = key or device_key("outputs", None, cfg.name)
        self.device = opening(
            self.key,
            cfg.pin,
            lambda: DigitalOutputDevice(
                cfg.pin, active_high=cfg.active_high, initial_value=False, pin_factory=pin_factory
            ),
        )
        self._own_loop = loop is None
        self.loop = loop or PinLoop(f"siren-{cfg.name}")
        self._lock = threading.Lock()
        self._off_at: float | None = None
        self.activations = 0
        self.cause: str | None = None

    @property
    def is_on(self) -> bool:
        """True while sounding."""
        return bool(using(self.key, self.cfg.pin, "read the siren", lambda: self.device.value))

    def on_event(self, event: Event) -> None:
        """Listener for accepted events (after arming rules set the severity)."""
        if event.state not in (State.START, State.INSTANT):
            return
        if event.severity not in (Severity.ALARM, Severity.CRITICAL):
            return
        if "*" not in self.cfg.kinds and str(event.kind) not in self.cfg.kinds:
            return
        self.sound(f"{event.kind}:{event.sensor or event.camera}")

    def sound(self, cause: str) -> None:
        """Switch on (again) for ``duration_s`` (any thread; returns at once). Raises
        :class:`edge.core.errors.SensorError` when the relay's pin cannot be driven."""
        if self._own_loop:
            self.loop.start()
        with self._lock:
            using(self.key, self.cfg.pin, "switch the siren on", self.device.on)
            self.activations += 1
            self.cause = cause
            self._off_at = self.loop.clock() + self.cfg.duration_s
            self.loop.at(self, self._off_at, self._due)
        log.warning("siren.on", output=self.cfg.name, cause=cause, seconds=self.cfg.duration_s)

    def _due(self, now: float) -> None:
        with self._lock:
            if self._off_at is None or now < self._off_at:
                return  # sounded again meanwhile: a later deadline stands
        self.reset("timer")

    def reset(self, why: str = "reset") -> None:
        """Switch off."""
        with self._lock:
            self._off_at = None
            self.loop.cancel(self)
            was = self.is_on
            using(self.key, self.cfg.pin, "switch the siren off", self.device.off)
        if was:
            log.info("siren.off", output=self.cfg.name, why=why)

    def close(self) -> None:
        """Off, and release the pin (the pin is released even when it cannot be driven)."""
        try:
            self.reset("shutdown")
        finally:
            self.device.close()
            if self._own_loop:
                self.loop.shutdown(5.0)


class Status(StrEnum):
    """What the lamp shows, worst first."""

    ALARM = "alarm"
    OFFLINE = "offline"
    DEGRADED = "degraded"
    HEALTHY = "healthy"


#: (seconds on, seconds off) per status; None: steady on.
PATTERNS: dict[Status, tuple[float, float] | None] = {
    Status.HEALTHY: None,
    Status.DEGRADED: (1.0, 1.0),
    Status.OFFLINE: (0.2, 0.8),
    Status.ALARM: (0.1, 0.1),
}


class StatusLed:
    """A lamp: steady when healthy, slow blink degraded, short blink offline, fast alarm."""

    def __init__(
        self, cfg: OutputConfig, pin_factory: Any = None, *, key: str | None = None
    ) -> None:
        """Raises :class:`edge.core.errors.SensorError` when the lamp's pin cannot be opened."""
        self.cfg = cfg
        self.key = key or device_key("outputs", None, cfg.name)
        self.led = opening(
            self.key,
            cfg.pin,
            lambda: LED(
                cfg.pin, active_high=cfg.active_high, initial_value=False, pin_factory=pin_factory
            ),
        )
        self.status: Status | None = None

    def show(self, status: Status) -> None:
        """Switch to *status*'s pattern (no-op when already showing it). Raises
        :class:`edge.core.errors.SensorError` when the lamp's pin cannot be driven."""
        if status == self.status:
            return
        self.status = status
        pattern = PATTERNS[status]
        if pattern is None:
            using(self.key, self.cfg.pin, "switch the lamp on", self.led.on)
        else:
            on, off = pattern
            using(self.key, self.cfg.pin, "blink the lamp",
                  lambda: self.led.blink(on_time=on, off_time=off, background=True))  # fmt: skip
        log.info("status_led", output=self.cfg.name, status=str(status))

    def close(self) -> None:
        """Off, and release the pin."""
        self.led.close()
