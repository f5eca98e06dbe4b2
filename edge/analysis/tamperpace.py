"""How often the tamper watch looks: every analysed frame while something may be happening to
the view, about once a second while it is settled.

The tamper watch (:mod:`edge.analysis.tamper`) costs more per frame than the motion gate (a
small grey image, local contrast, Laplacian, noise estimate: about 1.2 ms of a 768x432 frame
on this machine) and its conditions must hold for ``hold_s`` (5 s) before anything is said:
looking at every analysed frame of a view where nothing happens to the camera buys nothing.
So it looks at one frame a second (``every_s``) while the view is *settled* and every
analysed frame as soon as anything may be happening to it:

- the watch is not settled (:attr:`TamperWatch.settled`: still learning the view, a
  condition that may start or end, evidence of interference gathering);
- the motion gate saw a lighting change, or a large part of the view changed
  (``changed``, 15%: a hand or cloth closing over the lens changes much of the view, a
  person walking by a few per cent of it, one close to the camera about 5-10%);
- the mean brightness moved by more than ``brightness`` (a share) since the last look (a
  fade to dark, a lens being covered).

A look after skipped frames tells the watch how many analysed frames it stands for, so the
learned view follows the scene at the same pace in time (:meth:`TamperWatch.update`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.analysis.motion.base import MotionResult

BRIGHTNESS_FLOOR = 2.0
"""Grey level below which a change of brightness is measured against this instead."""


@dataclass
class TamperPace:
    """Decides per analysed frame whether the tamper watch looks at it (see the module)."""

    every_s: float = 1.0
    """Longest time between two looks while the view is settled."""
    changed: float = 0.15
    """Share of the gate's view changed from which every frame is looked at."""
    brightness: float = 0.1
    """Change of mean brightness since the last look, as a share, from which likewise."""
    looks: int = 0
    """Frames looked at."""
    skipped: int = 0
    """Frames not looked at."""
    _last_t: float | None = field(default=None, repr=False)
    _last_mean: float | None = field(default=None, repr=False)
    _since: int = field(default=0, repr=False)

    def due(self, t: float, motion: MotionResult, *, settled: bool) -> int:
        """How many analysed frames a look at the frame at camera time *t* stands for (this
        one and those skipped since the last look); 0 when it is not looked at."""
        mean = motion.brightness
        last, last_mean = self._last_t, self._last_mean
        moved = (
            mean is not None
            and last_mean is not None
            and abs(mean - last_mean) > self.brightness * max(last_mean, BRIGHTNESS_FLOOR)
        )
        look = (
            not settled
            or last is None
            or t < last
            or t - last >= self.every_s - 1e-6
            or motion.lighting
            or motion.changed >= self.changed
            or moved
        )
        if not look:
            self._since += 1
            self.skipped += 1
            return 0
        frames = self._since + 1
        self._since = 0
        self._last_t = t
        self._last_mean = mean if mean is not None else last_mean
        self.looks += 1
        return frames
