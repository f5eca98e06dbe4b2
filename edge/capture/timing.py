"""Stream timelines and analysis-rate sampling, shared by every input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

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

    def ahead(self, value: int | None) -> float | None:
        """Session seconds of a stream timestamp without taking it as the first; None when
        it cannot be told yet (no trusted timestamp, or nothing seen so far)."""
        if not self.trust_pts or value is None or self._first is None:
            return None
        return self.raw(value, 0) - self._first

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

    def would_take(self, t: float) -> bool:
        """Whether a frame at session time *t* could still be due (:meth:`due` asks the
        same, and moves on). The answer only turns from True to False as frames are taken."""
        return t + 1e-6 >= self._next

    def due(self, t: float) -> bool:
        """True when the frame at session time *t* should be analysed."""
        if t + 1e-6 < self._next:
            return False
        self._next = self._next + self.step if self._next + self.step > t else t + self.step
        return True


class UnusedFrames:
    """Skips decoding the frames analysis will not take where nothing else needs them.

    Before each packet is decoded: when its frame is one the sampler will not take (a frame
    at a time before the next one due is never due later), the decoder (*codec*, PyAV's
    codec context) is told to skip non-reference frames (FFmpeg's ``skip_frame`` NONREF);
    no other frame is decoded from a non-reference one, so the frames analysis takes are the
    same, decoded for less (the B-frames of a 10 fps stream analysed at 5 fps: about a fifth
    of the decoding CPU). Off (*on* False) when every frame is wanted (clips encoded from
    decoded frames), with no analysis rate, or while timestamps cannot be trusted.
    """

    def __init__(self, codec: Any, clock: Timeline, sampler: Sampler, *, on: bool) -> None:
        self.codec = codec
        self.clock = clock
        self.sampler = sampler
        self.on = on and sampler.step > 0
        self.skipping = False
        self.skipped_packets = 0
        """Packets decoded with non-reference frames skipped."""

    def before(self, pts: int | None, flush: bool) -> None:
        """Set the decoder up for the packet at stream timestamp *pts* (*flush*: the empty
        packet that drains the decoder at the end)."""
        if not self.on:
            return
        t = None if flush else self.clock.ahead(pts)
        skip = t is not None and not self.sampler.would_take(t)
        if skip != self.skipping:
            self.codec.skip_frame = "NONREF" if skip else "DEFAULT"
            self.skipping = skip
        self.skipped_packets += skip
