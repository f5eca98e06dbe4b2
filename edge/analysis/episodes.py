"""Turn per-frame motion results into motion episodes with a start and an end.

Times are camera time (:class:`edge.capture.session.CameraClock`), continuous across
reconnects, never session stream time (it restarts at 0 with every session): an episode open
when the camera went away ends as usual once ``end_after_s`` has passed, the outage included.
"""

from __future__ import annotations

from edge.analysis.motion.base import MotionResult
from edge.analysis.observation import Observation
from edge.core.ids import new_id
from edge.core.kinds import Kind, State


class MotionEpisodes:
    """A motion episode starts with the first moving frame and ends *end_after_s* of camera
    time after the last one: one start and one end observation per episode, never one per
    frame. Motion after a gap in the frames of *end_after_s* or more (a reconnect) is a new
    episode: the open one ends first."""

    def __init__(self, end_after_s: float) -> None:
        self.end_after_s = end_after_s
        self._occurrence: str | None = None
        self._started_pts = 0.0
        self._last_pts = 0.0
        self._seen_pts: float | None = None  # the previous frame's
        self._frames = 0

    @property
    def active(self) -> bool:
        """True while an episode is open."""
        return self._occurrence is not None

    def update(self, result: MotionResult, pts: float, wall: float) -> list[Observation]:
        """Feed one analysed frame at camera time *pts*; returns what it causes (usually
        nothing)."""
        blind = self._seen_pts is not None and pts - self._seen_pts >= self.end_after_s
        self._seen_pts = pts
        out: list[Observation] = []
        quiet = pts - self._last_pts >= self.end_after_s
        if self._occurrence is not None and quiet and (blind or not result.motion):
            out.append(self.finish(wall, pts))
        if result.motion:
            self._last_pts = pts
            self._frames += 1
            if self._occurrence is None:
                self._occurrence = new_id()
                self._started_pts = pts
                self._frames = 1
                out.append(self._seen(State.START, wall, pts, regions=len(result.regions)))
        return out

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
