"""``edge eval --as-node``: a MOT sequence through one camera's analysis as the daemon runs it.

:func:`edge.analysis.evaluate_tracks.run_tracker` feeds the tracker the detector's boxes of
every frame (or of frames a fixed interval apart). A node does neither: it analyses frames at
the camera's ``fps`` (5 by default: one image in five of a 25 fps sequence, picked as the
capture stage picks them, :class:`edge.capture.timing.Sampler`), and on each the real
:class:`edge.analysis.analyzer.Analyzer` decides whether the detector runs (the motion gate,
the schedule of :mod:`edge.analysis.schedule`: every analysed frame while a first sighting
awaits confirmation, every ``busy_interval_s`` while someone tracked moves, ``recheck_s``
while they stand still), then box filter, tracker and the static-object rule. So the
detector's cadence, the tracker's gaps between runs and which STARTs the node sends are the
node's own.

What is scored, as :func:`edge.analysis.evaluate_tracks.score_tracks` expects: the frames
the detector ran on, with the box of every confirmed track that took one there; the person
STARTs the analysis sent (after the static-object rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection, Detector
from edge.analysis.evaluate import MalformedSequenceError, read_images
from edge.analysis.evaluate_tracks import TrackMeasuresUnavailable, TrackOutput
from edge.capture.frame import Frame
from edge.capture.timing import Sampler
from edge.config.cameras import CameraConfig
from edge.core.kinds import Kind, State


@dataclass(frozen=True)
class NodeRun:
    """What one camera's analysis made of a sequence."""

    output: TrackOutput
    analysed: int
    """Frames handed to the analysis (at the camera's ``fps``)."""
    detector_calls: int


def eval_camera(seq: Path, tracker: str, analysis_fps: float = 5.0) -> CameraConfig:
    """A camera with default settings but *tracker*, analysing *analysis_fps* frames a
    second (the input is never opened: frames are handed to its analysis)."""
    try:
        return CameraConfig.model_validate(
            {
                "name": "eval",
                "fps": analysis_fps,
                "detect": {"kind": "file", "path": str(seq)},
                "detection": {"tracker": tracker},
            }
        )
    except ValueError as e:  # tracker = bytetrack without its package
        raise TrackMeasuresUnavailable(f"tracker {tracker!r}: {e}") from e


def run_as_node(
    detector: Detector, seq: Path, cam: CameraConfig, fps: float, *, offset: int = 0
) -> NodeRun:
    """Hand the images of *seq* (frame n at ``(n - first) / fps`` s) to the analysis of *cam*
    at its ``fps``, the first *offset* images skipped (another phase of the sampling); what
    it reported (see the module)."""
    try:
        analyzer = Analyzer(cam, detector=detector)
    except ImportError as e:  # a tracker whose package is not installed
        raise TrackMeasuresUnavailable(f"tracker {cam.detection.tracker!r}: {e}") from e
    images = read_images(seq)
    first = min(images) + offset
    sampler = Sampler(cam.fps)
    boxes: dict[int, list[tuple[str, Detection]]] = {}
    starts: list[tuple[int, str]] = []
    last: Frame | None = None
    for n, path in images.items():
        t = (n - first) / fps
        if t < 0 or not sampler.due(t):
            continue
        read = cv2.imread(str(path))
        if read is None:
            raise MalformedSequenceError(f"{path}: not a readable image")
        last = Frame("eval", n, t, t, t, np.asarray(read, dtype=np.uint8))
        calls = analyzer.stats.detector_calls
        for seen in analyzer.process(last):
            if seen.kind is Kind.PERSON and seen.state is State.START:
                starts.append((n, seen.occurrence))
        if analyzer.stats.detector_calls > calls:
            tracks = analyzer.tracker.tracks
            boxes[n] = [(tr.id, tr.box) for tr in tracks if tr.confirmed and tr.last_t == t]
    analyzer.finish(last)
    return NodeRun(TrackOutput(boxes, starts), analyzer.stats.frames, analyzer.stats.detector_calls)
