"""Turn per-frame motion results into motion episodes with a start and an end event."""

from __future__ import annotations

from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.ids import new_id
from edge.motion import MotionResult


class MotionEpisodes:
    """A motion episode starts with the first moving frame and ends *end_after_s* of stream
    time after the last one: one start and one end event per episode, never one per frame."""

    def __init__(
        self, factory: EventFactory, camera: str, end_after_s: float, mask_hash: str | None = None
    ) -> None:
        self.factory = factory
        self.mask_hash = mask_hash
        self.camera = camera
        self.end_after_s = end_after_s
        self._occurrence: str | None = None
        self._started_pts = 0.0
        self._last_pts = 0.0
        self._frames = 0

    @property
    def active(self) -> bool:
        """True while an episode is open."""
        return self._occurrence is not None

    def update(self, result: MotionResult, pts: float, wall: float) -> list[Event]:
        """Feed one analysed frame; returns the events it causes (usually none)."""
        if result.motion:
            self._last_pts = pts
            self._frames += 1
            if self._occurrence is None:
                self._occurrence = new_id()
                self._started_pts = pts
                self._frames = 1
                return [self._event(State.START, wall, pts, regions=len(result.regions))]
            return []
        if self._occurrence is not None and pts - self._last_pts >= self.end_after_s:
            return [self.finish(wall, pts)]
        return []

    def finish(self, wall: float, pts: float) -> Event:
        """Close the open episode (at end of stream, or when it went quiet)."""
        event = self._event(
            State.END,
            wall,
            pts,
            seconds=round(self._last_pts - self._started_pts, 3),
            frames=self._frames,
        )
        self._occurrence = None
        return event

    def _event(self, state: State, wall: float, pts: float, **data: float | int) -> Event:
        assert self._occurrence is not None
        return self.factory.make(
            Kind.MOTION,
            Severity.INFO,
            state,
            self._occurrence,
            ts=wall,
            camera=self.camera,
            mask_hash=self.mask_hash,
            data={"stream_time": round(pts, 3), **data},
        )
