"""When a tracked person is *steady*: the detector can skip every other tracking run.

While someone tracked moves, the detector runs every ``busy_interval_s`` (0.4 s) to keep up
with them (:mod:`edge.analysis.schedule`). Most of those runs find what the tracker already
knew: the same people, where their motion is. The schedule stretches the interval by
:data:`STEADY_FACTOR` while the scene is steady:

- one person is tracked, confirmed, and found by the detector's last run (nobody is being
  missed; with several people in view, crossing and hiding one another, the tracker gets
  every run);
- all the motion the gate sees lies on that person (each motion region's centre inside
  their box grown by :data:`REACH` of its size, 0: the box itself): someone moving fast
  away from their last box, or a newcomer moving anywhere else, makes the next run come at
  the usual interval. Motion near a tracked person counts as theirs for the static-object
  rule (:mod:`edge.analysis.stillness`), so their box must not lag behind them (a wider
  reach let a passer-by's motion over a chair make the chair "arrive":
  tests/analysis/test_static_objects.py).

The price: a person's box is updated every 0.8 s instead of 0.4 s while their motion stays
on it; a newcomer who enters inside a tracked person's box may be found up to 0.4 s later,
and a track's END (its last sighting) may come up to 0.4 s earlier. Measured (one-by-one,
``edge bench vision``): 306 -> 243 detector calls, the same 6 person events with the same
STARTs; ``edge eval --as-node --compare`` on TUD-Campus unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge.analysis.motion.base import Box
from edge.analysis.track import Track

STEADY_FACTOR = 2.0
"""The tracking interval while steady, in ``busy_interval_s``."""
REACH = 0.0
"""How far around a tracked box (a share of its width and height) its motion lies."""


def steady(tracks: Iterable[Track], regions: Iterable[Box], last_run: float | None) -> bool:
    """Whether the scene is steady (see the module): *tracks* alive, the gate's motion
    *regions* now, *last_run* the camera time of the detector's last run."""
    live = list(tracks)
    if len(live) != 1 or last_run is None:
        return False
    if any(not tr.confirmed or tr.last_t < last_run for tr in live):
        return False
    for x, y, w, h in regions:
        cx, cy = x + w / 2, y + h / 2
        if not any(_near(tr, cx, cy) for tr in live):
            return False
    return True


def _near(tr: Track, cx: float, cy: float) -> bool:
    b = tr.box
    return b.x - REACH * b.w <= cx <= b.x + b.w * (
        1 + REACH
    ) and b.y - REACH * b.h <= cy <= b.y + b.h * (1 + REACH)
