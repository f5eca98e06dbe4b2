"""What a camera's analysis reports: observations, not yet events.

An observation says what was seen (motion, a person, the view interfered with), when in the
stream (session and stream time: seconds since that session of the input began) and on the
wall clock, and how it ties to earlier ones (``occurrence``). The events
stage turns it into an :class:`edge.events.model.Event` with the node's identity, severity,
mask hash and snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.capture.frame import Image
from edge.core.kinds import Kind, State


@dataclass(frozen=True, slots=True)
class Still:
    """A frame worth a snapshot, with what to draw on it."""

    image: Image
    detections: tuple[Detection, ...] = ()
    zones: tuple[tuple[str, npt.NDArray[np.float32]], ...] = ()
    """Zone outlines in this frame's pixels."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One change seen by one camera's analysis."""

    kind: Kind
    state: State
    occurrence: str
    stream_time: float
    """Seconds into the current stream session (the frame's pts; restarts at 0 with every
    session, so never compare two sessions' values)."""
    wall: float
    """Unix time the frame was taken."""
    zones: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    still: Still | None = None
    """Set on observations worth a snapshot (a person's first sighting)."""
    session: int = 1
    """The input session (``Frame.session``) of the frame it was seen on."""
