"""Turn per-frame motion results into motion episodes with a start and an end."""

from __future__ import annotations

from edge.analysis.motion.base import MotionResult
from edge.analysis.observation import Observation
from edge.core.ids import new_id
from edge.core.kinds import Kind, State


class MotionEpisodes:
    """A motion episode starts with the first moving frame and ends *end_after_s* of stream
    time after the last one: one start and one end observation per episode, never one per
    frame."""

    def __init__(self, end_after_s: float) -> None:
        self.end_after_s = end_after_s
        self._occurrence: str | None = None
        self._started_pts = 0.0
        self._last_pts = 0.0
        self._frames = 0

    @property
    def active(self) -> bool:
        """True while an episode is open."""
        return self._occurrence is not None

    def update(self, result: MotionResult, pts: float, wall: float) -> list[Observation]:
        """Feed one analysed frame; returns what it causes (usually nothing)."""
        if result.motion:
            self._last_pts = pts
            self._frames += 1
            if self._occurrence is None:
                self._occurrence = new_id()
                self._started_pts = pts
                self._frames = 1
                return [self._seen(State.START, wall, pts, regions=len(result.regions))]
            return []
        if self._occurrence is not None and pts - self._last_pts >= self.end_after_s:
            return [self.finish(wall, pts)]
        return []

    def finish(self, wall: float, pts: float) -> Observation:
        """Close the open episode (at end of stream, or when it went quiet)."""
        seen = self._seen(
            State.END,
            wall,
            pts,
            seconds=round(self._last_pts - self._started_pts, 3),
            frames=self._frames,
        )
        self._occurrence = None
        return seen

    def _seen(self, state: State, wall: float, pts: float, **data: float | int) -> Observation:
        assert self._occurrence is not None
        return Observation(
            Kind.MOTION,
            state,
            self._occurrence,
            stream_time=pts,
            wall=wall,
            data={"stream_time": round(pts, 3), **data},
        )
