"""A clip that could not be made is told, never silently gone: a ``clip_lost`` event with the
camera, the clip id (the one its events carry) and the time range it would have covered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.core.ids import new_id
from edge.core.kinds import Kind, Severity, State
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event, utc_iso

log = get_logger(__name__)


@dataclass(frozen=True)
class LostClip:
    """What is known of a clip that cannot be made."""

    clip_id: str
    camera: str | None
    start: float
    """Unix time of its first frame (or when it opened)."""
    end: float
    """Unix time of its last frame recorded (or when its journal was last written)."""
    reason: str
    """``nothing_playable`` (no keyframe, no parameter sets), ``not_written`` (the file could
    not be written or stored), ``unreadable`` (a damaged journal), ``camera_not_running``."""
    detail: str = ""
    event_ids: frozenset[str] = frozenset()


class LostReport:
    """Logs each lost clip (``clip.lost``) and, once the node wired it, emits its event."""

    def __init__(
        self,
        factory: EventFactory | None = None,
        emit: Callable[[Event], None] | None = None,
    ) -> None:
        self.factory = factory
        self.emit = emit
        self.count = 0

    def __call__(self, lost: LostClip) -> None:
        """Tell that *lost* is lost."""
        self.count += 1
        log.warning(
            "clip.lost",
            camera=lost.camera,
            clip=lost.clip_id,
            start=utc_iso(lost.start),
            end=utc_iso(lost.end),
            reason=lost.reason,
            detail=lost.detail,
        )
        if self.factory is None or self.emit is None:
            return
        event = self.factory.make(
            Kind.CLIP_LOST,
            Severity.WARNING,
            State.INSTANT,
            new_id(),
            camera=lost.camera,
            clip_id=lost.clip_id,
            data={
                "start": utc_iso(lost.start),
                "end": utc_iso(lost.end),
                "seconds": round(max(0.0, lost.end - lost.start), 3),
                "reason": lost.reason,
                "detail": lost.detail,
                "event_ids": sorted(lost.event_ids),
            },
        )
        try:
            self.emit(event)
        except Exception:  # the event path reports its own failures; the loss is logged
            log.exception("clip.lost_not_reported", clip=lost.clip_id)


def not_signed(camera: str | None, clip_id: str | None, error: str) -> None:
    """Log a clip that could not be signed (no usable key): not lost, its journal is kept and
    the clip made at the next start with a key."""
    log.error(
        "clip.not_signed",
        camera=camera,
        clip=clip_id,
        error=error,
        note="kept as a journal: made and sent at the next start with a key",
    )
