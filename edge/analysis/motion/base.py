"""The motion-gate interface: cheap per-frame analysis that decides when to look closer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edge.capture.frame import Image

Box = tuple[int, int, int, int]
"""x, y, width, height in full-frame pixels."""


@dataclass(frozen=True, slots=True)
class MotionResult:
    """What the gate saw in one frame."""

    motion: bool
    regions: tuple[Box, ...]
    changed: float
    """Fraction of the (downscaled) frame that differs from the background."""
    lighting: bool
    """A whole-frame brightness change: the background was recalibrated, no motion reported."""
    brightness: float | None = None
    """Mean grey level (0-255) of the frame, when the gate measured it."""


class MotionGate(Protocol):
    """Turns frames into motion results; keeps its own background state."""

    def process(self, image: Image) -> MotionResult:
        """Analyse one frame."""
        ...
