"""Stream timelines and analysis-rate sampling, shared by every input."""

from __future__ import annotations

from fractions import Fraction

DEFAULT_FPS = 25.0


class Timeline:
    """Seconds from the start of a session, for packets and frames alike.

    Uses the stream's timestamps when they can be trusted, else ``index / rate`` (raw
    elementary streams carry none). The first timestamp seen becomes zero.
    """

    def __init__(self, time_base: Fraction | None, rate: float | None, trust_pts: bool) -> None:
        self.time_base = time_base
        self.rate = rate or DEFAULT_FPS
        self.trust_pts = trust_pts and time_base is not None
        self._first: float | None = None

    def raw(self, value: int | None, index: int) -> float:
        """Absolute seconds of a timestamp (or of the *index*-th unit without one)."""
        if self.trust_pts and value is not None and self.time_base is not None:
            return float(value * self.time_base)
        return index / self.rate

    def at(self, value: int | None, index: int) -> float:
        """Session seconds of a timestamp."""
        t = self.raw(value, index)
        if self._first is None:
            self._first = t
        return t - self._first


class Sampler:
    """Picks frames at no more than *fps* from a faster stream (every frame when None)."""

    def __init__(self, fps: float | None) -> None:
        self.step = 1.0 / fps if fps else 0.0
        self._next = 0.0

    def due(self, t: float) -> bool:
        """True when the frame at session time *t* should be analysed."""
        if t + 1e-6 < self._next:
            return False
        self._next = self._next + self.step if self._next + self.step > t else t + self.step
        return True
