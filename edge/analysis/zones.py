"""Named areas of a camera's view, scaled to whatever size its frames have."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.config.detection import ZoneConfig


class Zones:
    """Which zones a point is in. Points are in pixels of *resolution*; frames of another
    size get the zones scaled (once per size)."""

    def __init__(self, zones: Sequence[ZoneConfig], resolution: Sequence[int] | None) -> None:
        self.zones = list(zones)
        self.resolution = tuple(resolution) if resolution else None
        self._size: tuple[int, int] | None = None
        self._polys: list[tuple[str, npt.NDArray[np.float32]]] = []

    def __bool__(self) -> bool:
        return bool(self.zones)

    def polygons(self, width: int, height: int) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """Zone outlines scaled to a *width* x *height* frame."""
        if self._size != (width, height):
            assert self.resolution is not None or not self.zones
            rw, rh = self.resolution or (width, height)
            sx, sy = width / rw, height / rh
            self._polys = [
                (z.name, np.array([[p[0] * sx, p[1] * sy] for p in z.points], np.float32))
                for z in self.zones
            ]
            self._size = (width, height)
        return self._polys

    def at(self, x: float, y: float, width: int, height: int) -> tuple[str, ...]:
        """Names of the zones that contain the point (x, y) of a *width* x *height* frame."""
        return tuple(
            name
            for name, poly in self.polygons(width, height)
            if cv2.pointPolygonTest(poly, (float(x), float(y)), False) >= 0
        )
