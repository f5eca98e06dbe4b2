"""GPIO inputs (door, smoke, tamper, PIR) and the pin factory they use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.config.base import Section

#: BCM numbers of the GPIO lines on the Raspberry Pi 40-pin header.
BCM_PINS = range(0, 28)


class GpioConfig(Section):
    """Which gpiozero pin factory drives the pins."""

    factory: Literal["default", "mock"] = Field(
        default="default",
        description="default: gpiozero's own choice (lgpio on a Pi). mock: gpiozero's "
        "MockFactory, for demos and tests on machines without GPIO.",
    )


class SensorConfig(Section):
    """One dry-contact input."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Sensor name, unique on this node."
    )
    kind: Literal["door", "smoke", "tamper", "pir"] = Field(
        description="What the contact reports: door, smoke, tamper or pir."
    )
    pin: int = Field(
        ge=BCM_PINS.start,
        lt=BCM_PINS.stop,
        description="BCM GPIO number (0-27 on the Raspberry Pi header).",
    )
    pull_up: bool = Field(
        default=True,
        description="Enable the internal pull-up (contact switches to ground).",
    )
    active_when: Literal["closed", "open"] = Field(
        default="open",
        description="Contact state that means 'active' (door open, smoke, tamper): 'open' for a "
        "normally-closed loop (the safe choice: a cut wire reads as active), 'closed' for a "
        "normally-open contact.",
    )
    debounce_s: float = Field(
        default=0.05, ge=0, le=5, description="Ignore changes shorter than this."
    )
    cameras: list[str] = Field(
        default_factory=list, description="Cameras that watch what this sensor guards."
    )
