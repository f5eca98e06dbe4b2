"""The matcher interface (:class:`Matcher`) and its answer for a part (:data:`PART`)."""

from __future__ import annotations

from typing import Literal, Protocol

from edge.analysis.detect.base import Detection

MatcherName = Literal["iou", "bytetrack"]

PART = ""
"""What :meth:`Matcher.assign` answers for a box it follows no identity with and would start
none for (a low score): it may still be a part of a live track's person, never a new track."""


class Matcher(Protocol):
    """Decides identities; the tracker above it decides what they mean."""

    def assign(
        self, dets: list[Detection], live: dict[str, Detection], t: float
    ) -> dict[int, str | None]:
        """The detector run at camera time *t* found *dets*: detection index -> the id of
        the live track (*live*: id -> its last box, oldest first) it continues, or None: it
        may start a new track, or :data:`PART`: only as a part of a live track's person. A
        detection left out is nobody's."""
        ...

    def idle(self, t: float) -> None:
        """A frame at camera time *t* went by without a detector run."""
        ...

    def bind(self, i: int, track_id: str) -> None:
        """Detection *i* of the last :meth:`assign` went to *track_id* (a new track, or a
        track it was taken as part of)."""
        ...

    def forget(self, track_id: str) -> None:
        """*track_id* ended: a later detection never continues it."""
        ...

    def reset(self) -> None:
        """Every track ended (end of stream, camera lost): start afresh."""
        ...
