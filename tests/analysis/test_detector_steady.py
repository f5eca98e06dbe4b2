"""Fewer detector runs while one tracked person is steady (edge/analysis/steady.py): every
0.8 s instead of 0.4 s while their motion stays on their box; every 0.4 s again as soon as
anything else moves, someone else is tracked, or they were missed."""

from __future__ import annotations

import itertools

from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import Box, MotionResult
from edge.analysis.schedule import DetectionSchedule, Why
from edge.analysis.steady import steady
from edge.analysis.track import Track
from edge.config.detection import CameraDetectionConfig

BOX = Detection(100.0, 50.0, 60.0, 160.0, 0.9)
ON = (110, 80, 30, 60)
"""A motion region centred on BOX."""


def _track(tid: str = "a", box: Detection = BOX, *, last_t: float = 1.0) -> Track:
    return Track(tid, box, first_t=0.0, last_t=last_t, hits=5, confirmed=True)


def test_one_found_person_whose_motion_is_on_them_is_steady() -> None:
    """One confirmed track found at the last run, all motion centred on their box: steady."""
    assert steady([_track()], [ON], last_run=1.0)
    assert steady([_track()], [], last_run=1.0)


def test_anything_else_is_not_steady() -> None:
    """Motion away from the box, a second track, an unconfirmed one, a person the last run
    missed, or no run yet: not steady."""
    away: Box = (400, 80, 30, 60)
    second = _track("b", Detection(300.0, 50.0, 60.0, 160.0, 0.9))
    unconfirmed = Track("c", BOX, first_t=0.8, last_t=1.0, hits=1, confirmed=False)
    assert not steady([_track()], [ON, away], last_run=1.0)
    assert not steady([_track(), second], [ON], last_run=1.0)
    assert not steady([unconfirmed], [ON], last_run=1.0)
    assert not steady([_track(last_t=0.6)], [ON], last_run=1.0)
    assert not steady([_track()], [ON], last_run=None)
    assert not steady([], [ON], last_run=1.0)


def _runs(steady_now: bool) -> list[float]:
    """Camera times at which a 5 fps camera's schedule runs the detector over 4 s of someone
    tracked and moving."""
    s = DetectionSchedule(CameraDetectionConfig())
    moving = MotionResult(True, (ON,), 0.02, False, 90.0)
    runs = []
    for i in range(20):
        t = i * 0.2
        if s.due(moving, t, True, steady=steady_now):
            assert s.why is Why.TRACKING and s.last == t
            runs.append(round(t, 1))
    return runs


def test_schedule_runs_every_other_tracking_run_while_steady() -> None:
    """Tracking at 5 fps: every 0.4 s (busy_interval_s; 0.6 where rounding misses a frame,
    as before); steady, every 0.8 s exactly (not missed by rounding)."""
    usual = _runs(False)
    assert all(0.39 <= b - a <= 0.61 for a, b in itertools.pairwise(usual))
    assert _runs(True) == [0.0, 0.8, 1.6, 2.4, 3.2]
