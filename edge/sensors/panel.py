"""The node's GPIO as one part: contact inputs, sirens and status lamps built from config on
one pin factory; the reset key silences the sirens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.config.root import EdgeConfig
from edge.core.lifecycle import ServiceHealth
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren, Status, StatusLed


class Panel:
    """Inputs and outputs of one node (a :class:`edge.core.lifecycle.Service`)."""

    name = "gpio"

    def __init__(
        self,
        cfg: EdgeConfig,
        factory: EventFactory,
        emit: Callable[[Event], None],
        pin_factory: Any,
    ) -> None:
        self.sirens = [Siren(o, pin_factory) for o in cfg.outputs if o.kind == "siren"]
        self.lamps = [StatusLed(o, pin_factory) for o in cfg.outputs if o.kind == "status_led"]
        self.sensors = [
            ContactInput(s, factory, emit, pin_factory=pin_factory, on_reset=self.reset_sirens)
            for s in cfg.sensors
        ]

    def on_event(self, event: Event) -> None:
        """An accepted event: sirens decide whether it is theirs."""
        for siren in self.sirens:
            siren.on_event(event)

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        for siren in self.sirens:
            siren.reset()

    def show(self, status: Status) -> None:
        """Show the node's status on every lamp."""
        for lamp in self.lamps:
            lamp.show(status)

    def start(self) -> None:
        """Start reporting input changes."""
        for sensor in self.sensors:
            sensor.start()

    def stop(self) -> None:
        """Release inputs, switch outputs off and release their pins."""
        for sensor in self.sensors:
            sensor.close()
        for siren in self.sirens:
            siren.close()
        for lamp in self.lamps:
            lamp.close()

    def join(self, timeout: float | None = None) -> bool:
        """Nothing to wait for (timers are cancelled by ``stop``)."""
        return True

    def health(self) -> ServiceHealth:
        """Degraded inputs are reported as events, not as a dead service."""
        return ServiceHealth(self.name, True)
