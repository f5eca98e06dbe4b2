"""Camera tampering: a covered lens, a moved camera, a defocused lens; and what the lights
going off (light-dark.h264) raises. A view switched to black between two frames is the
lights going out (``lights_off``), no longer ``blackout``: tests/analysis/test_lowlight.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED
from nodecfg import video_camera

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.onnx import OnnxDetector
from edge.analysis.observation import Observation
from edge.analysis.tamper import TamperWatch
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.events.camera import SEVERITY, CameraEvents
from edge.events.context import EventFactory
from edge.events.model import Event


def _scene(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((360, 640, 3), 90, np.uint8)
    for _ in range(40):  # shelves, boxes: edges everywhere
        x, y = int(rng.integers(0, 600)), int(rng.integers(0, 320))
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.rectangle(
            img, (x, y), (x + int(rng.integers(10, 80)), y + int(rng.integers(10, 60))), c, -1
        )
    return img


def _run(frames: list[np.ndarray], fps: float = 5.0) -> list[Observation]:
    w = TamperWatch()
    out: list[Observation] = []
    for i, f in enumerate(frames):
        out += w.update(f, i / fps, 1000.0 + i / fps)
    return out


def _reasons(events: list[Observation]) -> list[tuple[str, str]]:
    return [(str(e.state), str(e.data["reason"])) for e in events]


@pytest.mark.parametrize(
    "cover,reason",
    [
        (
            lambda img: (
                np.full_like(img, 70)
                + np.random.default_rng(1).integers(0, 4, img.shape, dtype=np.uint8)
            ),
            "covered",
        ),  # a hand or cloth over the lens: lit but featureless
        (lambda img: cv2.GaussianBlur(img, (41, 41), 0), "defocused"),
        (lambda img: _scene(seed=99), "moved"),  # pointed somewhere else
    ],
    ids=["covered", "defocused", "moved"],
)
def test_tampering_raises_camera_tampered_and_clears(cover: object, reason: str) -> None:
    """Ten normal seconds, eight tampered, ten normal again: one START with the reason after
    the hold time, one END when the view is back."""
    scene = _scene()
    frames = [scene] * 50 + [cover(scene)] * 40 + [scene] * 50  # type: ignore[operator]
    events = _run(frames)
    assert _reasons(events) == [("start", reason), ("end", reason)]
    start, end = events
    assert start.kind == "camera_tampered" and SEVERITY[start.kind] == "alarm"
    assert 15.0 <= start.data["stream_time"] <= 16.2  # 10 s normal + 5 s hold
    assert end.occurrence == start.occurrence


def test_short_dark_spell_is_not_tampering() -> None:
    """Lights off for 3 s (less than the hold time) raise nothing."""
    scene = _scene()
    assert _run([scene] * 50 + [np.zeros_like(scene)] * 15 + [scene] * 30) == []


@pytest.mark.slow
def test_light_dark_raises_no_person_event(videos: Path) -> None:
    """light-dark.h264 (the lights go off): no person event and no camera_tampered; what it
    does raise is motion at most (the gate recalibrates at the switch). Documented in the
    README under 'What the samples raise'."""
    cam = video_camera(videos / "light-dark.h264")
    det = OnnxDetector(SHARED / "models" / "yolox_nano" / "yolox_nano.onnx")
    an = CameraEvents(Analyzer(cam, detector=det), EventFactory("n", "s"))
    events: list[Event] = []
    last = None
    for f in FileInput("cam", videos / "light-dark.h264", analysis_fps=5).stream():
        if isinstance(f, Frame):
            events += an.process(f)
            last = f
    events += an.finish(last)
    kinds = {str(e.kind) for e in events}
    assert "person" not in kinds and "camera_tampered" not in kinds
    assert kinds <= {"motion"}
