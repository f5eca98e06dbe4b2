"""No person alarm on a static object: a track that never moved, in a place that saw no
motion before it was first seen, is furniture, a coat, a plant or a lamp's silhouette that
the detector takes for a person; its START waits until it moves.

The evidence is what the node already has:

- *motion history*: a coarse grid of the view (32x18 cells, as the region memory) holding,
  per cell, the last camera time motion covered it: the age of the background there. Motion
  around a person already being followed (their box grown by ``PERSON_MARGIN``, it lags
  behind them between detector runs) is theirs and is not recorded: someone walking past a
  chair, even in front of it, is not the chair's arrival;
- *the track's own movement*: how far its box has gone from where it was first seen.

A track is *held back* when, at its first sighting, less than ``static_share`` of the cells
under its box had seen motion in the ``static_quiet_s`` before (it was there before anyone
moved there: a person who walks in makes motion over the place they end up in, even if the
detector only finds them once they stand still). It is released, and its START emitted then
(dated, like any START, from its first sighting), as soon as

- its box moves: its centre shifts by ``static_move`` of the box's width (across) or height
  (up and down), or its height changes by that share; or
- ``static_share`` of the cells under its box see motion within ``static_quiet_s`` while
  nobody is followed (a ``lone`` grid; a window, so that stray specks of noise over hours do
  not add up): in a dark room the gate sees only part of a person walking in, and the
  detector may first find them at a spot that shows little motion yet, but what they do next
  moves pixels there. Motion while someone is followed does not count here: people walking
  in front of a coat do not bring it to life.

After the camera was lost (:meth:`Stillness.outage`) nobody watched the view: all of it
counts as having seen motion at the first frame after, so whatever is found standing still
within ``static_quiet_s`` of the reconnect may have come meanwhile and is not held back.

A held track makes no event at all (no START, no zone changes, no END) and does not count as
someone tracked for the detector schedule (a coat does not keep the detector busy). A person
who walks in and then sits still moved, or made motion, on the way in, so their track is
released at once and stays one person until they leave.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import Box
from edge.analysis.regions import COLS, ROWS, grid_cells
from edge.analysis.track import Change, Track, TrackEvent

PERSON_MARGIN = 0.5
"""Motion this far around a followed person's box (fraction of its width and height) is
theirs."""
HELD = "held back: still and present before any motion in its region"
"""Why a track's START waits (the reason in logs and in :attr:`Stillness.why`)."""


@dataclass(frozen=True, slots=True)
class StillnessSettings:
    """How the static-object rule decides (see the module)."""

    enabled: bool = True
    quiet_s: float = 10.0
    share: float = 0.5
    move: float = 0.5


@dataclass(slots=True)
class _Seen:
    """What was known of a track when it was first seen."""

    first: Detection
    since: float
    """Its first sighting, less ``quiet_s``: motion from then on under its box is arrival."""
    released: bool = False


class Stillness:
    """Per camera: the motion history of the view, and which tracks are held back."""

    def __init__(self, settings: StillnessSettings | None = None) -> None:
        self.settings = settings or StillnessSettings()
        self.last: npt.NDArray[np.float64] = np.full((ROWS, COLS), -np.inf)
        """Camera time of the last motion over each cell (-inf: none since watching began)."""
        self.lone: npt.NDArray[np.float64] = np.full((ROWS, COLS), -np.inf)
        """The same for motion while nobody was followed (nobody else's to be)."""
        self._size = (0, 0)
        self._outage = False
        self._seen: dict[str, _Seen] = {}
        self.why: dict[str, str] = {}
        """Track id -> why its START is held back, for the tracks held now."""

    def _cells(self, x: float, y: float, w: float, h: float) -> tuple[slice, slice]:
        return grid_cells(x, y, w, h, self._size)

    def _frame(self, t: float, width: int, height: int) -> None:
        if self._size != (width, height):
            self._size = (width, height)
            self.last[:] = -np.inf
            self.lone[:] = -np.inf
        if self._outage:  # the view unwatched until now: anything may have come
            self._outage = False
            self.last[:] = t

    def outage(self) -> None:
        """The camera was lost: the next frame finds a view nobody watched."""
        self._outage = True

    def motion(
        self, regions: Iterable[Box], t: float, width: int, height: int, tracks: Iterable[Track]
    ) -> None:
        """Motion (not a lighting change) covered *regions* at camera time *t*, while
        *tracks* were alive: what lies around the people among them is not recorded."""
        self._frame(t, width, height)
        theirs = np.zeros((ROWS, COLS), bool)
        followed = False
        for tr in tracks:
            seen = self._seen.get(tr.id)
            if seen is not None and seen.released:
                followed = True
                b, m = tr.box, PERSON_MARGIN
                theirs[
                    self._cells(b.x - m * b.w, b.y - m * b.h, (1 + 2 * m) * b.w, (1 + 2 * m) * b.h)
                ] = True
        for r in regions:
            at = self._cells(*r)
            block = self.last[at]
            block[~theirs[at]] = t
            if not followed:
                self.lone[at] = t

    def tracking(self, tracks: Iterable[Track]) -> bool:
        """True while a confirmed track that is not held back is alive (someone tracked)."""
        return any(tr.confirmed and tr.id not in self.why for tr in tracks)

    def filter(
        self, events: list[TrackEvent], tracks: list[Track], t: float, width: int, height: int
    ) -> list[TrackEvent]:
        """The tracker's *events* of an update at *t* as they may leave: new tracks judged,
        held tracks' events dropped, a START for each held track that has moved now."""
        if not self.settings.enabled:
            return events
        self._frame(t, width, height)
        alive = {tr.id for tr in tracks}
        for tid in [k for k in self._seen if k not in alive]:
            del self._seen[tid]
        out: list[TrackEvent] = []
        recent = t - self.settings.quiet_s
        for tr in tracks:
            seen = self._seen.get(tr.id)
            if seen is None:
                since = tr.first_t - self.settings.quiet_s
                arrived = self.arrival(self.last, tr.box, since) >= self.settings.share
                seen = self._seen[tr.id] = _Seen(tr.box, since, released=arrived)
            if seen.released:
                continue
            if (
                self._moved(seen.first, tr.box)
                or self.arrival(self.lone, tr.box, max(seen.since, recent)) >= self.settings.share
            ):
                seen.released = True
                if tr.id in self.why:  # held until now: its START is due
                    del self.why[tr.id]
                    out.append(TrackEvent(Change.START, tr, t))
            elif tr.confirmed:
                self.why[tr.id] = HELD
        for ev in events:
            tid = ev.track.id
            if tid in self.why:
                if ev.change is Change.END:
                    del self.why[tid]
                continue
            out.append(ev)
        return out

    def arrival(self, grid: npt.NDArray[np.float64], box: Detection, since: float) -> float:
        """Share of the cells under *box* whose last motion in *grid* (:attr:`last`,
        :attr:`lone`) was at camera time *since* or later."""
        block = grid[self._cells(box.x, box.y, box.w, box.h)]
        return float(np.count_nonzero(block >= since)) / block.size

    def _moved(self, first: Detection, now: Detection) -> bool:
        """True when *now* is far enough from *first* to be something that moves."""
        m = self.settings.move
        dx = abs((now.x + now.w / 2) - (first.x + first.w / 2)) / max(first.w, 1.0)
        dy = abs((now.y + now.h / 2) - (first.y + first.h / 2)) / max(first.h, 1.0)
        grow = abs(math.log(max(now.h, 1.0) / max(first.h, 1.0)))
        return dx >= m or dy >= m or grow >= math.log1p(m)
