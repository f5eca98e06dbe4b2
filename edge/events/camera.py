"""A camera's observations become events: the node's identity, severity, the camera's mask
hash and, for a person's first sighting, a snapshot.

Times in ``data``, named so they are not confused: ``stream_time`` is seconds into the
camera's current session (it restarts at 0 with every reconnect), ``session`` that session's
number (from 1, per input), and ``frame_time`` the frame's wall-clock capture time (RFC 3339
UTC, milliseconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection
from edge.analysis.observation import Observation
from edge.capture.frame import Frame, Image
from edge.core.kinds import Kind, Severity
from edge.events.context import EventFactory
from edge.events.model import Event, utc_iso

SEVERITY = {
    Kind.MOTION: Severity.INFO,
    Kind.PERSON: Severity.WARNING,
    Kind.CAMERA_TAMPERED: Severity.ALARM,
    Kind.LIGHTS_OFF: Severity.INFO,
}
"""Severity of each kind a camera's analysis observes (rules may raise it by arming)."""


class SnapshotTaker(Protocol):
    """Keeps a still image of an event (``edge.clips.snapshot.SnapshotSaver``)."""

    def save(
        self,
        camera: str,
        image: Image,
        detections: Sequence[Detection],
        zones: Sequence[tuple[str, npt.NDArray[np.float32]]] = (),
    ) -> str | None:
        """The snapshot's id, or None when it could not be kept."""
        ...


class CameraEvents:
    """One camera's analysis, speaking in events."""

    def __init__(
        self,
        analyzer: Analyzer,
        factory: EventFactory,
        *,
        mask_hash: str | None = None,
        snapshots: SnapshotTaker | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.camera = analyzer.cam.name
        self.factory = factory
        self.mask_hash = mask_hash
        self.snapshots = snapshots

    def process(self, frame: Frame) -> list[Event]:
        """Analyse one frame; returns the events it causes."""
        return [self.event(o) for o in self.analyzer.process(frame)]

    def finish(self, frame: Frame | None) -> list[Event]:
        """Close what is open at the end of the stream."""
        return [self.event(o) for o in self.analyzer.finish(frame)]

    def event(self, seen: Observation) -> Event:
        """The event for one observation."""
        snapshot = None
        if seen.still is not None and self.snapshots is not None:
            s = seen.still
            snapshot = self.snapshots.save(self.camera, s.image, s.detections, s.zones)
        return self.factory.make(
            seen.kind,
            SEVERITY[seen.kind],
            seen.state,
            seen.occurrence,
            ts=seen.wall,
            camera=self.camera,
            zones=seen.zones,
            mask_hash=self.mask_hash,
            data={**seen.data, "session": seen.session, "frame_time": utc_iso(seen.wall)},
            snapshot_id=snapshot,
        )
