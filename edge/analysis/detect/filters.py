"""Which detector boxes count as a person on this camera."""

from __future__ import annotations

from edge.analysis.detect.base import Detection
from edge.config.detection import CameraDetectionConfig


class BoxFilter:
    """Minimum score, height and area (fraction of the frame), and a person-like shape."""

    def __init__(self, cfg: CameraDetectionConfig) -> None:
        self.cfg = cfg

    def keep(self, d: Detection, frame_area: float) -> bool:
        """True when *d* counts."""
        c = self.cfg
        if d.score < c.min_score or d.h < c.min_height or d.w <= 0:
            return False
        if d.area < c.min_area * frame_area:
            return False
        return c.min_aspect <= d.h / d.w <= c.max_aspect

    def __call__(self, dets: list[Detection], width: int, height: int) -> list[Detection]:
        """The boxes that count."""
        area = float(width * height)
        return [d for d in dets if self.keep(d, area)]
