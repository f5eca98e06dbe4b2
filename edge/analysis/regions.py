"""Where the detector keeps finding nobody: a fading memory of motion without people.

A road, a flag, a screen: motion there again and again, and every detector run on it finds
no person. Each run teaches a coarse grid of the view: the cells under (and just around) a
moving region in which no person was found get one more "nobody here", the cells under a
person are cleared at once, and everything fades with a half-life. Motion that lies mostly in
cells that have said "nobody" ``known_after`` times is *known* motion, and the schedule spends
the detector elsewhere (it still looks at the whole frame every ``busy_check_s``, so nobody
hides in a busy area for long).

The grid is 32x18 cells whatever the frame size; a run costs a few slices of it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import Box

COLS, ROWS = 32, 18
NOVEL = 0.3
"""A moving region is news when at least this fraction of its cells is not known motion."""
MARGIN = 0.25
"""A run's "nobody" reaches this fraction of a region's size around it (what moves goes on
moving the way it went; a car's next position is mostly covered)."""
PERSON_MARGIN = 0.25
"""Cells this far around a person (fraction of the box) are cleared."""
SLACK = 0.9
"""A cell is known from this fraction of ``known_after`` on: the fading between two runs a
frame apart must not make two "nobody" runs count as 1.99."""
PROTECT = 0.5
"""Cells where a person was seen learn no "nobody" until that has faded below this (one
half-life): a person standing still becomes background, and their leaving is motion there."""


def grid_cells(
    x: float, y: float, w: float, h: float, size: tuple[int, int], *, grow: float = 0.0
) -> tuple[slice, slice]:
    """The cells of the view's COLS x ROWS grid (a frame of *size*) under box (x, y, w, h)
    grown by *grow* of its size on each side: at least one cell, inside the grid."""
    fw, fh = size
    gx, gy = w * grow, h * grow
    c0 = int(max(0.0, (x - gx) * COLS / fw))
    c1 = int(min(COLS, math.ceil((x + w + gx) * COLS / fw)))
    r0 = int(max(0.0, (y - gy) * ROWS / fh))
    r1 = int(min(ROWS, math.ceil((y + h + gy) * ROWS / fh)))
    r0, c0 = min(r0, ROWS - 1), min(c0, COLS - 1)
    return slice(r0, max(r1, r0 + 1)), slice(c0, max(c1, c0 + 1))


class RegionMemory:
    """Per camera: the view's cells where motion brought no person, fading.

    *known_after*: "nobody" runs after which a cell's motion is known (0: never);
    *half_life_s*: how fast that fades."""

    def __init__(self, *, known_after: float = 2.0, half_life_s: float = 20.0) -> None:
        self.known_after = known_after
        self.half_life_s = half_life_s
        self.cells: npt.NDArray[np.float32] = np.zeros((ROWS, COLS), np.float32)
        self.people: npt.NDArray[np.float32] = np.zeros((ROWS, COLS), np.float32)
        """Where people were seen: 1 when seen, fading like the rest."""
        self._t: float | None = None
        self._size = (0, 0)

    def _cells(self, x: float, y: float, w: float, h: float, grow: float) -> tuple[slice, slice]:
        return grid_cells(x, y, w, h, self._size, grow=grow)

    def _age(self, t: float, width: int, height: int) -> None:
        if self._size != (width, height):
            self._size = (width, height)
            self.cells[:] = 0
            self.people[:] = 0
        if self._t is not None and t > self._t:
            fade = np.float32(0.5 ** ((t - self._t) / self.half_life_s))
            self.cells *= fade
            self.people *= fade
        self._t = t if self._t is None else max(t, self._t)

    def novel(self, regions: tuple[Box, ...], t: float, width: int, height: int) -> bool:
        """True when some moving region lies enough outside known cells to be news."""
        if self.known_after <= 0:
            return True
        self._age(t, width, height)
        for x, y, w, h in regions:
            block = self.cells[self._cells(x, y, w, h, 0.0)]
            if np.count_nonzero(block < SLACK * self.known_after) >= NOVEL * block.size:
                return True
        return False

    def learn(
        self,
        regions: tuple[Box, ...],
        people: list[Detection],
        t: float,
        width: int,
        height: int,
        *,
        seen: Box | None = None,
        weight: float = 1.0,
    ) -> None:
        """A detector run at *t* on the area *seen* (None: the whole frame) found *people*
        while *regions* moved: moving regions inside it with nobody in them count *weight*
        more "nobody" (with a margin around), cells under people are cleared."""
        if self.known_after <= 0:
            return
        self._age(t, width, height)
        for r in regions:
            if seen is not None and not _inside(r, seen):
                continue
            if not any(_overlaps(r, p) for p in people):
                at = self._cells(*r, MARGIN)
                # where people were seen lately, motion is not "nobody" motion (the ghost a
                # person leaves in the background, the spot where people stand)
                self.cells[at] += np.float32(weight) * (self.people[at] < PROTECT)
        for p in people:
            at = self._cells(p.x, p.y, p.w, p.h, PERSON_MARGIN)
            self.cells[at] = 0.0
            self.people[at] = 1.0

    @property
    def known(self) -> float:
        """Fraction of the view that is known motion now."""
        if self.known_after <= 0:
            return 0.0
        known = np.count_nonzero(self.cells >= SLACK * self.known_after)
        return float(known) / self.cells.size


def _overlaps(r: Box, d: Detection) -> bool:
    x, y, w, h = r
    return x < d.x + d.w and d.x < x + w and y < d.y + d.h and d.y < y + h


def _inside(r: Box, crop: Box) -> bool:
    x, y, w, h = r
    cx, cy, cw, ch = crop
    return x >= cx and y >= cy and x + w <= cx + cw and y + h <= cy + ch
