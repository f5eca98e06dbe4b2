"""Vision building blocks: the motion gate, head decoding, NMS, filters, the schedule, the
tracker, zones."""

from __future__ import annotations

import numpy as np
import pytest

from edge.analysis.analyzer import crop_around
from edge.analysis.detect.base import Detection
from edge.analysis.detect.filters import BoxFilter
from edge.analysis.detect.heads import YoloV8Head, YoloxHead, nms
from edge.analysis.detect.onnx import ModelError, guess_head
from edge.analysis.motion.background import BackgroundMotion
from edge.analysis.motion.base import MotionResult
from edge.analysis.schedule import DetectionSchedule
from edge.analysis.track import Change, Tracker
from edge.analysis.zones import Zones
from edge.config.cameras import MotionConfig
from edge.config.detection import CameraDetectionConfig, ZoneConfig

NO_MOTION = MotionResult(False, (), 0.0, False)
MOTION = MotionResult(True, ((10, 10, 50, 100),), 0.05, False)
LIGHTS = MotionResult(False, (), 0.9, True)


def _scene(brightness: int = 120, square_at: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(brightness, 3, (360, 640, 3)), 0, 255).astype(np.uint8)
    if square_at is not None:
        img[100:180, square_at : square_at + 60] = 250
    return img


def test_motion_gate_sees_a_moving_object() -> None:
    """A bright block moving across a still scene is motion, with a region around it."""
    gate = BackgroundMotion(MotionConfig())
    gate.process(_scene())
    results = [gate.process(_scene(square_at=x)) for x in (100, 130, 160)]
    assert all(r.motion and not r.lighting for r in results)
    x, y, w, h = results[-1].regions[0]
    assert 90 <= x <= 170 and 80 <= y <= 110 and w >= 50 and h >= 70


def test_motion_gate_recalibrates_on_lighting_changes() -> None:
    """Lights on, lights off, auto-exposure steps: a lighting change each time, never motion,
    and after it the new scene is the background."""
    gate = BackgroundMotion(MotionConfig())
    gate.process(_scene(120))
    for level in (200, 60, 200, 90):
        r = gate.process(_scene(level))
        assert r.lighting and not r.motion
        for _ in range(4):
            settled = gate.process(_scene(level))
            assert not settled.motion
    assert not gate.process(_scene(90)).lighting


def test_yolox_decode_places_a_box() -> None:
    """A YOLOX row at grid (10, 5) of stride 8 decodes to a box centred there."""
    head = YoloxHead(416)
    out = np.zeros((1, 3549, 85), np.float32)
    row = 5 * 52 + 10  # stride 8 grid is 52 wide
    out[0, row, :4] = [0.5, 0.5, np.log(4), np.log(8)]  # centre offset, size in strides
    out[0, row, 4] = 0.9
    out[0, row, 5] = 0.8
    boxes = head.decode(out, 0.3)
    assert boxes.shape == (1, 5)
    x1, y1, x2, y2, s = boxes[0]
    assert (x1 + x2) / 2 == pytest.approx(10.5 * 8) and (y1 + y2) / 2 == pytest.approx(5.5 * 8)
    assert x2 - x1 == pytest.approx(32) and y2 - y1 == pytest.approx(64)
    assert s == pytest.approx(0.72)
    with pytest.raises(ValueError, match="expected 3549"):
        head.decode(np.zeros((1, 100, 85), np.float32), 0.3)


def test_yolov8_decode_and_head_guessing() -> None:
    """Ultralytics layout (1, 84, N): centre boxes, person score in row 4."""
    out = np.zeros((1, 84, 3), np.float32)
    out[0, :4, 1] = [100, 200, 40, 80]
    out[0, 4, 1] = 0.7
    out[0, 5, 2] = 0.99  # a bicycle: not a person
    boxes = YoloV8Head().decode(out, 0.5)
    assert boxes.tolist() == [[80.0, 160.0, 120.0, 240.0, pytest.approx(0.7)]]
    assert guess_head([1, 84, 8400]) == "yolov8"
    assert guess_head([1, 3549, 85]) == "yolox"
    assert guess_head([1, 85, 22, 22]) == "fastestdet"
    with pytest.raises(ModelError):
        guess_head([1, 1000])


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    """Overlapping boxes collapse to the highest score; separate ones stay."""
    boxes = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.8], [50, 50, 60, 60, 0.7]], np.float32)
    kept = nms(boxes, 0.5)
    assert kept[:, 4].tolist() == pytest.approx([0.9, 0.7])


def test_box_filter() -> None:
    """Score, height, area and shape filters each reject what they should."""
    f = BoxFilter(CameraDetectionConfig(min_score=0.4, min_height=50, min_area=0.01))
    w, h = 640, 480
    good = Detection(0, 0, 60, 150, 0.9)
    assert f([good], w, h) == [good]
    assert f([Detection(0, 0, 60, 150, 0.3)], w, h) == []  # score
    assert f([Detection(0, 0, 20, 40, 0.9)], w, h) == []  # height
    assert f([Detection(0, 0, 200, 60, 0.9)], w, h) == []  # lying: aspect 0.3
    assert f([Detection(0, 0, 10, 55, 0.9)], w, h) == []  # area < 1% of frame


def test_schedule_runs_detector_only_when_worth_it() -> None:
    """Motion with nobody tracked: every frame. Tracking and moving: every busy interval.
    Tracking and still: every recheck. Lights switched: never."""
    s = DetectionSchedule(CameraDetectionConfig(busy_interval_s=0.4, recheck_s=1.0))
    assert [s.due(MOTION, t / 5, tracking=False) for t in range(3)] == [True] * 3
    s = DetectionSchedule(CameraDetectionConfig(busy_interval_s=0.4, recheck_s=1.0))
    assert [s.due(MOTION, t / 5, tracking=True) for t in range(5)] == [
        True,
        False,
        True,
        False,
        True,
    ]
    s = DetectionSchedule(CameraDetectionConfig(recheck_s=1.0))
    assert sum(s.due(NO_MOTION, t / 5, tracking=True) for t in range(26)) == 6
    s = DetectionSchedule(CameraDetectionConfig())
    assert not any(s.due(LIGHTS, t / 5, tracking=False) for t in range(50))
    assert not any(s.due(NO_MOTION, t / 5, tracking=False) for t in range(50))


def test_tracker_one_person_one_track() -> None:
    """A person walking across (boxes moving frame to frame) is one track: START after the
    confirming hit, no further events while seen, END once lost for lost_after_s."""
    tr = Tracker(confirm_hits=2, confirm_window_s=1.5, lost_after_s=2.5)
    events = []
    for i in range(20):
        events += tr.update([Detection(100 + 15 * i, 50, 60, 160, 0.8)], i * 0.2)
    assert [e.change for e in events] == [Change.START]
    assert events[0].track.first_t == 0.0 and events[0].t == pytest.approx(0.2)
    assert tr.update(None, 5.0) == []  # not yet lost: 1.2 s since last seen
    end = tr.update([], 6.5)
    assert [e.change for e in end] == [Change.END] and not tr.tracking


def test_tracker_ignores_one_off_detections() -> None:
    """A single false detection never confirms, so never makes an event."""
    tr = Tracker(confirm_hits=2, confirm_window_s=1.0)
    events = tr.update([Detection(0, 0, 50, 120, 0.9)], 0.0)
    events += tr.update([], 0.5) + tr.update([], 1.5) + tr.update([], 10)
    assert events == [] and tr.tracks == []


def test_tracker_two_people_two_tracks_and_zone_changes() -> None:
    """Two separate people are two tracks; entering a zone is an update of the same track."""
    tr = Tracker(confirm_hits=1)
    a, b = Detection(0, 0, 50, 150, 0.9), Detection(400, 0, 50, 150, 0.9)
    starts = tr.update([a, b], 0.0, {0: ("bay",), 1: ()})
    assert [e.change for e in starts] == [Change.START, Change.START]
    ev = tr.update([a, b.shifted(10, 0)], 0.2, {0: ("bay",), 1: ("store",)})
    assert [(e.change, e.track.zones) for e in ev] == [(Change.ZONES, ("store",))]
    assert {z for t in tr.tracks for z in t.zones_seen} == {"bay", "store"}


def test_zones_scale_and_contain() -> None:
    """Zones drawn at 640x360 apply to a 1280x720 stream; the foot point decides."""
    z = Zones(
        [ZoneConfig(name="store", points=[[0, 0], [320, 0], [320, 360], [0, 360]])], [640, 360]
    )
    assert z.at(600, 700, 1280, 720) == ("store",)
    assert z.at(700, 700, 1280, 720) == ()
    assert Detection(100, 100, 50, 200, 1).foot == (125, 300)


def test_crop_around_motion_stays_inside_the_frame() -> None:
    """The detector crop holds every moving region, with a margin, inside the frame."""
    x, y, w, h = crop_around(((600, 300, 30, 40), (560, 320, 10, 10)), 640, 360)
    assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 360
    assert x <= 560 and y <= 300 and x + w >= 630 and y + h >= 340
    assert w >= 256 and h >= 256


def test_motion_ignore_areas_are_not_motion() -> None:
    """Changes inside a motion-ignore area (a clock, a screen) are not motion; the same
    change elsewhere is."""
    from edge.config.loader import loads

    cam = loads("""
[node]
id = "n"
site = "s"
[[cameras]]
name = "c"
detect = { kind = "file", path = "x.mp4" }
resolution = [640, 360]
[[cameras.motion.ignore]]
name = "wall clock"
points = [[80, 80], [260, 80], [260, 200], [80, 200]]
""").cameras[0]
    gate = BackgroundMotion(cam.motion, resolution=cam.resolution)
    gate.process(_scene())
    assert not any(gate.process(_scene(square_at=x)).motion for x in (100, 130, 160))
    assert gate.process(_scene(square_at=400)).motion
