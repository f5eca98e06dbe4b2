"""Where the detector's time goes: known motion (where it keeps finding nobody) is looked at
only now and then, a first sighting is looked at again at once, and a quiet view now and then
anyway, so nobody hides in busy areas or from a blind motion gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pytest

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import Box, MotionResult
from edge.analysis.observation import Observation
from edge.analysis.regions import RegionMemory
from edge.analysis.schedule import DetectionSchedule, Why
from edge.capture.frame import Frame, Image
from edge.config.detection import CameraDetectionConfig
from edge.config.loader import loads
from edge.core.kinds import Kind, State

STEP = 0.2  # 5 fps
W, H = 640, 360
VIEW = np.full((H, W, 3), 120, np.uint8)
NO_MOTION = MotionResult(False, (), 0.0, False)
LANE = (0, 200, 640, 100)
PERSON = Detection(300, 120, 60, 170, 0.9)


def _moving(*regions: Box) -> MotionResult:
    return MotionResult(True, regions, 0.05, False)


def test_schedule_confirms_a_first_sighting_at_once() -> None:
    """An unconfirmed sighting: the detector runs on the very next frames, with or without
    motion, tracking or not."""
    s = DetectionSchedule(CameraDetectionConfig())
    assert s.due(_moving(LANE), 0.0, tracking=True)
    assert [s.due(NO_MOTION, 0.2 * i, tracking=True, pending=True) for i in (1, 2, 3)] == [True] * 3
    assert s.why is Why.CONFIRM
    assert not s.due(NO_MOTION, 0.8, tracking=True)  # confirmed or gone: recheck pace


def test_schedule_idle_check_counts_from_the_first_frame() -> None:
    """Nothing going on: the first full look 15 s after the first frame (the default), then
    every 15 s; 0 turns it off."""
    s = DetectionSchedule(CameraDetectionConfig())
    due = [t for t in range(0, 5 * 47) if s.due(NO_MOTION, 100 + t / 5, tracking=False)]
    # (a time a hair short of 15 s, as sums of frame times are, waits for the next frame)
    assert [t // 5 for t in due] == [15, 30, 45], due
    assert s.why is Why.IDLE
    off = DetectionSchedule(CameraDetectionConfig(idle_check_s=0))
    assert not any(off.due(NO_MOTION, t / 5, tracking=False) for t in range(500))


def test_schedule_known_motion_gets_a_full_look_every_busy_check() -> None:
    """Motion that is news: every frame; only known motion: every busy_check_s."""
    s = DetectionSchedule(CameraDetectionConfig(busy_check_s=2.0))
    assert all(s.due(_moving(LANE), t / 5, tracking=False) for t in range(5))
    known = [t for t in range(5, 40) if s.due(_moving(LANE), t / 5, tracking=False, novel=False)]
    gaps = [b - a for a, b in pairwise([4, *known])]  # frames since the last run
    assert len(known) == 3 and all(10 <= g <= 11 for g in gaps), known
    assert s.why is Why.BUSY


def test_region_memory_learns_fades_and_is_cleared_by_people() -> None:
    """Two runs finding nobody in a moving region make it known (runs of weight 0.5 count
    half); a region elsewhere is news; after two half-lives it is news again; a person seen
    there clears it and the spot learns no "nobody" for a half-life."""
    m = RegionMemory(known_after=2.0, half_life_s=20.0)
    assert m.novel((LANE,), 0.0, W, H)
    m.learn((LANE,), [], 0.0, W, H)
    assert m.novel((LANE,), 0.2, W, H)
    m.learn((LANE,), [], 0.2, W, H)
    assert not m.novel((LANE,), 0.4, W, H)
    assert not m.novel(((100, 220, 80, 60),), 0.4, W, H)  # inside the lane
    assert m.novel(((100, 20, 80, 60),), 0.4, W, H)  # above it
    assert 0.4 < m.known < 0.6  # the lane's rows, with a margin
    assert m.novel((LANE,), 40.4, W, H)  # faded to a half
    dark = RegionMemory()
    for t in (0.0, 0.2, 0.4):
        dark.learn((LANE,), [], t, W, H, weight=0.5)
    assert dark.novel((LANE,), 0.6, W, H)
    m = RegionMemory()
    on_lane = Detection(300, 200, 40, 90, 0.9)
    m.learn((LANE,), [on_lane], 0.0, W, H)  # a person in the lane
    for t in (0.2, 0.4, 0.6):
        m.learn(((280, 200, 100, 100),), [], t, W, H)
    assert m.novel(((280, 200, 100, 100),), 0.8, W, H)


def test_region_memory_learns_only_what_a_crop_saw() -> None:
    """A run on a crop says nothing about regions outside it."""
    m = RegionMemory()
    far = (500, 20, 100, 60)
    for t in (0.0, 0.2):
        m.learn((LANE, far), [], t, W, H, seen=(0, 180, 640, 180))
    assert not m.novel((LANE,), 0.4, W, H)
    assert m.novel((far,), 0.4, W, H)


@dataclass
class Road:
    """A fake camera over a road: cars in the lane now and then, a person when asked."""

    cars: bool = True
    person: Detection | None = None
    motion: bool = True
    calls: list[float] = field(default_factory=list)
    t: float = 0.0

    def process(self, image: Image) -> MotionResult:
        """Motion in the lane while cars pass, or where the person is."""
        regions: list[Box] = []
        if self.cars and self.motion:
            x = int(self.t * 150) % 560
            regions.append((x, 210, 80, 60))
        if self.person is not None and self.motion:
            p = self.person
            regions.append((int(p.x), int(p.y), int(p.w), int(p.h)))
        return MotionResult(bool(regions), tuple(regions), 0.05 * bool(regions), False)

    def detect(self, image: Image) -> list[Detection]:
        """Finds the person, never a car."""
        self.calls.append(self.t)
        return [self.person] if self.person is not None else []

    name: str = "fake"


def _analyzer(road: Road, detection: str = "") -> Analyzer:
    cam = loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "cam"
fps = 5
detect = {{ kind = "rtsp", url = "rtsp://127.0.0.1:1/cam" }}
{detection}
""").cameras[0]
    return Analyzer(cam, detector=road, gate=road)


def _run(an: Analyzer, road: Road, seconds: float) -> list[Observation]:
    out: list[Observation] = []
    for _ in range(round(seconds / STEP)):
        out += an.process(Frame("cam", 0, road.t, 1000 + road.t, 1.7e9 + road.t, VIEW))
        road.t += STEP
    return out


def _starts(seen: list[Observation]) -> list[float]:
    return [
        float(o.data["stream_time"])
        for o in seen
        if o.kind is Kind.PERSON and o.state is State.START
    ]


def test_traffic_stops_costing_the_detector_and_a_person_there_is_still_found() -> None:
    """Cars in the lane for 60 s: on the first car's pass the detector runs every frame,
    once the lane is known only for the full look every 2 s (at most 20% of frames in all,
    12% after the first 10 s); a person then stepping into the lane is found within the
    next full look and confirmed on the frame after."""
    road = Road()
    an = _analyzer(road)
    assert _starts(_run(an, road, 60.0)) == []
    assert len(road.calls) <= 0.20 * 300, road.calls
    assert len([t for t in road.calls if t >= 10]) <= 0.12 * 250, road.calls
    assert an.stats.known_skips >= 200
    road.person = Detection(int(road.t * 150) % 560, 200, 40, 90, 0.9)  # where a car just was
    arrived = road.t
    starts = _starts(_run(an, road, 4.0))
    assert len(starts) == 1 and arrived <= starts[0] <= arrived + 2.2, (arrived, starts)


def test_a_person_the_gate_cannot_see_is_found_by_the_idle_check() -> None:
    """Someone standing still from the start (the gate took them into the background, or
    cannot see in the dark): the idle check finds them at 15 s, the next frame confirms. With
    no motion ever and no movement they are what a coat or a plant is (the static-object rule
    holds them back, see tests/analysis/test_static_objects.py); without that rule, one START."""
    road = Road(cars=False, motion=False, person=PERSON)
    an = _analyzer(road)
    assert _starts(_run(an, road, 16.0)) == []
    assert len(road.calls) == 2 and road.calls[1] - road.calls[0] == pytest.approx(0.2)
    road = Road(cars=False, motion=False, person=PERSON)
    an = _analyzer(road, "detection = { static_hold = false }")
    starts = _starts(_run(an, road, 16.0))
    assert len(starts) == 1 and 15.0 <= starts[0] <= 15.21, starts
    assert len(road.calls) == 2 and road.calls[1] - road.calls[0] == pytest.approx(0.2)


def test_one_hit_brings_the_next_detector_run_forward() -> None:
    """Motion on one frame only, a hit there: the detector runs again on the next frame
    (no motion) and the second hit confirms the person there, not a second later."""
    road = Road(cars=False, person=PERSON)
    an = _analyzer(road)
    seen = _run(an, road, STEP)
    road.motion = False
    seen += _run(an, road, 3 * STEP)
    assert road.calls[:2] == pytest.approx([0.0, 0.2])
    assert _starts(seen) == [0.0]
