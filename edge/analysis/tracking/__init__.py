"""Matchers: which live track each detection of a detector run continues.

:class:`edge.analysis.track.Tracker` keeps the track rules (confirmation, ``lost_after_s``,
parts of a person, START/ZONES/END); a matcher only answers, per detector run, which
detection continues which live track and which may start a new one. ``iou``
(:mod:`.iou`): greedy overlap, then the nearest centre, no extra package. ``bytetrack``
(:mod:`.bytetrack`): ByteTrack from the ``supervision`` package (extra ``tracking``).
"""

from __future__ import annotations

from edge.analysis.tracking.base import PART, Matcher, MatcherName
from edge.core.logs import get_logger

log = get_logger(__name__)

__all__ = ["PART", "Matcher", "MatcherName", "make_matcher"]


def make_matcher(name: MatcherName, *, min_iou: float = 0.2, fallback: bool = True) -> Matcher:
    """The matcher the ``tracker`` setting names. ``bytetrack`` where the supervision package
    is not installed (the default setting on a node without the ``tracking`` extra: a config
    that names it is refused when checked): ``iou``, with a ``tracker.fallback`` warning;
    *fallback* False raises the ImportError instead."""
    if name == "iou":
        from edge.analysis.tracking.iou import IouMatcher

        return IouMatcher(min_iou=min_iou)
    if name == "bytetrack":
        try:
            from edge.analysis.tracking.bytetrack import ByteTrackMatcher
        except ImportError as e:
            if not fallback:
                raise
            log.warning("tracker.fallback", tracker=name, using="iou", reason=str(e))
            from edge.analysis.tracking.iou import IouMatcher

            return IouMatcher(min_iou=min_iou)
        return ByteTrackMatcher()
    raise ValueError(f"tracker {name!r}: expected 'iou' or 'bytetrack'")
