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
    kind: Literal["door", "smoke", "tamper", "pir", "reset"] = Field(
        description="What the contact reports: door, smoke, tamper, pir; or reset (a key "
        "switch that silences the siren)."
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
        default=0.05,
        ge=0,
        le=5,
        description="After a change is reported, further changes within this time are contact "
        "bounce: the state is re-read when it has passed.",
    )
    left_open_s: float = Field(
        default=120.0, gt=0, le=86400, description="Door only: raise door_left_open after this."
    )
    flap_changes: int = Field(
        default=20,
        ge=3,
        le=10_000,
        description="More raw changes than this within flap_window_s is a faulty input: one "
        "sensor_fault, and no events from it until it is quiet again.",
    )
    flap_window_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Window for flap_changes; also the quiet "
        "time after which a flapping input counts again.",
    )
    fault_holdoff_s: float = Field(
        default=300.0, ge=0, le=86400, description="At most one sensor_fault per input this often."
    )
    cameras: list[str] = Field(
        default_factory=list, description="Cameras that watch what this sensor guards."
    )


class OutputConfig(Section):
    """A relay or lamp driven by the node."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Output name, unique on this node."
    )
    kind: Literal["siren", "status_led"] = Field(
        description="siren: a siren/strobe relay switched on by alarms. status_led: shows "
        "healthy, degraded, offline and alarm as blink patterns."
    )
    pin: int = Field(ge=BCM_PINS.start, lt=BCM_PINS.stop, description="BCM GPIO number (0-27).")
    active_high: bool = Field(default=True, description="Drive the pin high to switch it on.")
    kinds: list[str] = Field(
        default_factory=lambda: [
            "smoke",
            "tamper",
            "door_open",
            "door_left_open",
            "person",
            "pir",
            "camera_tampered",
        ],
        description="siren: event kinds that may switch it on (at severity alarm or worse).",
    )
    duration_s: float = Field(
        default=180.0, gt=0, le=3600, description="siren: switched off after this, or on reset."
    )
