"""The detector interface and what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edge.capture.frame import Image


@dataclass(frozen=True, slots=True)
class Detection:
    """One person box in full-frame pixels: top-left corner, width, height, and a score."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def area(self) -> float:
        """Box area in pixels."""
        return self.w * self.h

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom-centre point: where the person stands (used for zones)."""
        return (self.x + self.w / 2, self.y + self.h)

    def iou(self, other: Detection) -> float:
        """Intersection over union with *other*."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def shifted(self, dx: float, dy: float) -> Detection:
        """The same box moved by (dx, dy) (from crop to frame coordinates)."""
        return Detection(self.x + dx, self.y + dy, self.w, self.h, self.score)


class Detector(Protocol):
    """Finds people in a BGR image."""

    name: str

    def detect(self, image: Image) -> list[Detection]:
        """People in *image*, boxes in its pixel coordinates, after NMS and score threshold."""
        ...
