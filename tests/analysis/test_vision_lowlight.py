"""Low light on real footage: one-by-one-person-detection.mp4 as a cheap camera in a dark room
films it (mean grey 2-5, shot and read noise new in every frame, H.264; made by
``tests/lowlight_video.py``: all 139 s and all six people, at the 5 fps the node analyses),
through the analyzer with exactly the settings of the bright clip."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED
from lowlight_video import make_lowlight
from nodecfg import video_camera

from edge.analysis.analyzer import AnalysisStats, Analyzer
from edge.analysis.detect.onnx import OnnxDetector
from edge.analysis.motion.background import BackgroundMotion
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.config.cameras import MotionConfig
from edge.events.camera import CameraEvents
from edge.events.context import EventFactory
from edge.events.model import Event

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
SOURCE = "one-by-one-person-detection.mp4"
#: Exposure of the made clips: a mean grey of about 2.4 and 4.5 once encoded and decoded.
LEVELS = {"dark": 3.0, "dim": 5.5}


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    """The yolox_nano person detector with the node's default settings."""
    return OnnxDetector(MODEL, score=0.3, nms_iou=0.55)


@pytest.fixture(scope="session")
def lowlight_clip(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``lowlight_clip(level)``: the low-light one-by-one clip, made once per session."""
    folder = tmp_path_factory.mktemp("lowlight")

    @cache
    def make(level: str) -> Path:
        return make_lowlight(videos / SOURCE, folder / f"{level}.mp4", mean=LEVELS[level])

    return make


def _frames(video: Path) -> list[Frame]:
    return [f for f in FileInput("cam", video, analysis_fps=5).stream() if isinstance(f, Frame)]


def run_video(video: Path, detector: OnnxDetector) -> tuple[list[Event], AnalysisStats]:
    """Every event the analysis of *video* produces (default camera settings, 5 fps)."""
    cam = video_camera(video)
    an = CameraEvents(Analyzer(cam, detector=detector), EventFactory("n", "s"))
    events: list[Event] = []
    last = None
    for frame in FileInput("cam", video, analysis_fps=cam.fps).stream():
        if isinstance(frame, Frame):
            events += an.process(frame)
            last = frame
    events += an.finish(last)
    return events, an.analyzer.stats


@pytest.mark.slow
def test_the_dark_clip_is_dark_noisy_and_blind_to_a_fixed_threshold(
    lowlight_clip: Callable[[str], Path],
) -> None:
    """The premise: every frame has a mean grey of 2-5 and sensor noise; a gate with the old
    fixed threshold (25 grey levels) sees motion in none of them, the default gate in the
    frames where people walk (and not in the rest: at most 60% of frames)."""
    frames = _frames(lowlight_clip("dark"))
    assert len(frames) == 697
    means = [float(cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY).mean()) for f in frames]
    assert min(means) >= 2.0 and max(means) <= 5.0, (min(means), max(means))
    a, b = (f.image.astype(np.float32) for f in frames[300:302])
    assert np.std(a - b) / np.sqrt(2) > 0.5  # grey levels of temporal noise
    fixed = BackgroundMotion(MotionConfig(threshold=25, min_threshold=25))
    assert not any(fixed.process(f.image).motion for f in frames)
    gate = BackgroundMotion(MotionConfig())
    moving = sum(gate.process(f.image).motion for f in frames)
    assert 0.1 * len(frames) <= moving <= 0.6 * len(frames), moving


@pytest.mark.slow
@pytest.mark.parametrize("level", ["dark", "dim"])
def test_every_person_is_found_in_the_dark(
    level: str,
    lowlight_clip: Callable[[str], Path],
    videos: Path,
    detector: OnnxDetector,
) -> None:
    """Mean grey about 2.4 (dark) and 4.5 (dim), default settings as for the bright clip:
    six person events, one per person, each starting within 5 s of the person's arrival
    (the detector needs a person in the dark to be mostly in view and slowed down; by day
    it is within 1 s), none outside the presence intervals, every track closed; and the dark
    room is no tampering (lights_off at most, never camera_tampered)."""
    presence = json.loads((videos / "presence.json").read_text())[SOURCE]
    fps = presence["fps"]
    intervals = [(a / fps, b / fps) for a, b in presence["person_intervals"]]
    events, stats = run_video(lowlight_clip(level), detector)
    starts = [
        float(e.data["stream_time"]) for e in events if e.kind == "person" and e.state == "start"
    ]
    print(
        f"low light ({level}): person events at {starts}; detector on {stats.detector_calls} "
        f"of {stats.frames} frames ({stats.dark_frames} on the low-light picture)"
    )
    assert len(starts) == 6, starts
    for a, _b in intervals:
        assert sum(a - 1.0 <= s <= a + 5.0 for s in starts) == 1, (a, starts)
    for s in starts:
        assert any(a - 1.0 <= s <= b + 1.0 for a, b in intervals), (s, intervals)
    ends = [e for e in events if e.kind == "person" and e.state == "end"]
    assert len(ends) == len(starts)
    assert stats.dark_frames == stats.detector_calls
    kinds = {str(e.kind) for e in events}
    assert "camera_tampered" not in kinds, [e for e in events if e.kind == "camera_tampered"]
