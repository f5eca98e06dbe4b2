"""The ByteTrack matcher (``tracker = "bytetrack"``) on the real dev clips: one person event
per person, as today's matcher gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED
from nodecfg import video_camera

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.onnx import OnnxDetector
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.events.camera import CameraEvents
from edge.events.context import EventFactory
from edge.events.model import Event

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
BYTETRACK = 'detection = { tracker = "bytetrack" }'


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    """The yolox_nano person detector with the node's default settings."""
    return OnnxDetector(MODEL, score=0.3, nms_iou=0.55)


def _starts(video: Path, detector: OnnxDetector) -> list[float]:
    """Stream times of the person STARTs the analysis of *video* makes with ByteTrack."""
    cam = video_camera(video, BYTETRACK)
    assert cam.detection.tracker == "bytetrack"
    an = CameraEvents(Analyzer(cam, detector=detector), EventFactory("n", "s"), mask_hash=None)
    events: list[Event] = []
    last = None
    for item in FileInput("cam", video, analysis_fps=cam.fps).stream():
        if isinstance(item, Frame):
            events += an.process(item)
            last = item
    events += an.finish(last)
    return [
        float(e.data["stream_time"]) for e in events if e.kind == "person" and e.state == "start"
    ]


@pytest.mark.slow
def test_one_by_one_one_event_per_person(videos: Path, detector: OnnxDetector) -> None:
    """one-by-one: six STARTs, each within 1.5 s of an arrival of presence.json."""
    presence = json.loads((videos / "presence.json").read_text())["one-by-one-person-detection.mp4"]
    arrivals = [a / presence["fps"] for a, _ in presence["person_intervals"]]
    starts = _starts(videos / "one-by-one-person-detection.mp4", detector)
    assert len(starts) == 6, starts
    assert all(abs(s - a) <= 1.5 for s, a in zip(starts, arrivals, strict=True)), starts


@pytest.mark.slow
def test_walking_by_two_events(videos: Path, detector: OnnxDetector) -> None:
    """A fast walker past a far doorway, twice: two events (ByteTrack's motion model loses
    them between detector runs; the tracker's nearest-track rule keeps them). The clips
    without people are left to the default matcher's tests (CI time): measured, ByteTrack
    makes no event on them either (README)."""
    assert len(_starts(videos / "walking-by.h264", detector)) == 2
