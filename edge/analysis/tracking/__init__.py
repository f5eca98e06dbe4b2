"""Matchers: which live track each detection of a detector run continues.

:class:`edge.analysis.track.Tracker` keeps the track rules (confirmation, ``lost_after_s``,
parts of a person, START/ZONES/END); a matcher only answers, per detector run, which
detection continues which live track and which may start a new one. ``iou``
(:mod:`.iou`): greedy overlap, then the nearest centre, no extra package. ``bytetrack``
(:mod:`.bytetrack`): ByteTrack (:mod:`.byte`), NumPy only.
"""

from __future__ import annotations

from edge.analysis.tracking.base import PART, Matcher, MatcherName

__all__ = ["PART", "Matcher", "MatcherName", "make_matcher"]


def make_matcher(name: MatcherName, *, min_iou: float = 0.2) -> Matcher:
    """The matcher the ``tracker`` setting names."""
    if name == "iou":
        from edge.analysis.tracking.iou import IouMatcher

        return IouMatcher(min_iou=min_iou)
    if name == "bytetrack":
        from edge.analysis.tracking.bytetrack import ByteTrackMatcher

        return ByteTrackMatcher()
    raise ValueError(f"tracker {name!r}: expected 'iou' or 'bytetrack'")
