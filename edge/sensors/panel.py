"""The node's GPIO as one part: contact inputs, sirens and status lamps built from config on
one pin factory, and one thread for all of them (:class:`edge.sensors.loop.PinLoop`); the
reset key silences the sirens.

gpiozero's callbacks only record an edge; the panel's thread runs the event path for it.

Order, decided: **siren first, then store.** The event path applies the arming rules (which
set the severity the siren listens to) and the clip triggers, then the sink tells its local
listeners (:meth:`edge.events.sink.EventSink.subscribe_local`: this panel's
:meth:`Panel.on_event`, so the siren) *before* it commits the event to the outbox. A slow or
full disk therefore never delays, or prevents, the siren (life safety fails open); the event
is stored right after, or waits in memory in order if it cannot be (the sink's backlog).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from edge.config.root import EdgeConfig
from edge.core.errors import SensorError
from edge.core.lifecycle import ServiceHealth
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.sensors.contacts import ContactInput
from edge.sensors.gpioerrors import device_key
from edge.sensors.loop import PinLoop
from edge.sensors.outputs import Siren, Status, StatusLed

log = get_logger(__name__)

STOP_S = 5.0
"""How long ``stop`` waits for the loop to handle the edges recorded before it."""


class Panel:
    """Inputs and outputs of one node (a :class:`edge.core.lifecycle.Service`). Opening a pin
    that cannot be used raises :class:`edge.core.errors.SensorError` naming the device's
    config key and pin (the pins opened before it are released)."""

    name = "gpio"

    def __init__(
        self,
        cfg: EdgeConfig,
        factory: EventFactory,
        emit: Callable[[Event], None],
        pin_factory: Any,
    ) -> None:
        self.loop = PinLoop("gpio")
        self.sirens: list[Siren] = []
        self.lamps: list[StatusLed] = []
        self.sensors: list[ContactInput] = []
        try:
            for i, o in enumerate(cfg.outputs):
                key = device_key("outputs", i, o.name)
                if o.kind == "siren":
                    self.sirens.append(Siren(o, pin_factory, loop=self.loop, key=key))
                elif o.kind == "status_led":
                    self.lamps.append(StatusLed(o, pin_factory, key=key))
            for i, s in enumerate(cfg.sensors):
                self.sensors.append(
                    ContactInput(
                        s,
                        factory,
                        emit,
                        pin_factory=pin_factory,
                        on_reset=self.reset_sirens,
                        loop=self.loop,
                        key=device_key("sensors", i, s.name),
                    )
                )
        except Exception:
            self._release()
            raise

    def on_event(self, event: Event) -> None:
        """An accepted event, before it is stored: sirens decide whether it is theirs (one
        siren whose pin fails does not keep the others quiet: logged ``gpio.output_failed``)."""
        for siren in self.sirens:
            _each(siren.cfg.name, functools.partial(siren.on_event, event))

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        for siren in self.sirens:
            _each(siren.cfg.name, siren.reset)

    def show(self, status: Status) -> None:
        """Show the node's status on every lamp (a lamp whose pin fails is logged; the
        caller, the node's chores or the safety loop, goes on)."""
        for lamp in self.lamps:
            _each(lamp.cfg.name, functools.partial(lamp.show, status))

    def start(self) -> None:
        """Start the panel's thread, then reporting input changes; returns once the inputs'
        first states are handled (at most :data:`STOP_S`: a slow disk delays no start)."""
        self.loop.start()
        for sensor in self.sensors:
            sensor.start()
        self.loop.settle(STOP_S)

    def stop(self) -> None:
        """Record no more edges, handle those recorded (their events are accepted), then
        release inputs, switch outputs off and release their pins."""
        for sensor in self.sensors:
            sensor.detach()
        self.loop.shutdown(STOP_S)
        self._release()

    def _release(self) -> None:
        for sensor in self.sensors:
            _each(sensor.cfg.name, sensor.close)
        for siren in self.sirens:
            _each(siren.cfg.name, siren.close)
        for lamp in self.lamps:
            _each(lamp.cfg.name, lamp.close)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the panel's thread."""
        return self.loop.join(timeout)

    def health(self) -> ServiceHealth:
        """The panel's thread (a dead one restarts; degraded inputs are events)."""
        health = self.loop.health()
        return ServiceHealth(self.name, health.alive, health.detail)


def _each(output: str, call: Callable[[], object]) -> None:
    try:
        call()
    except SensorError as e:
        log.error("gpio.output_failed", output=output, error=str(e))
