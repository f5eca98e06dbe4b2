"""Behind real time (a node short of CPU), the detector sheds the runs that only follow what
is known, never the ones that find or confirm someone: a tracked person is looked at every
``recheck_s``, new motion with nobody tracked every ``busy_interval_s``, a first sighting
every frame as ever."""

from __future__ import annotations

from edge.analysis.motion.base import MotionResult
from edge.analysis.schedule import DetectionSchedule, Why
from edge.config.detection import CameraDetectionConfig

STEP = 0.2  # 5 fps
MOVING = MotionResult(True, ((100, 100, 60, 150),), 0.05, False)
STILL = MotionResult(False, (), 0.0, False)


def _due_times(
    s: DetectionSchedule, motion: MotionResult, *, tracking: bool, behind: bool, **kw: bool
) -> list[float]:
    """The frame times (4 s at 5 fps, from t = 10) the schedule runs the detector on."""
    return [
        round(10 + i * STEP, 1)
        for i in range(20)
        if s.due(motion, 10 + i * STEP, tracking, behind=behind, **kw)
    ]


def test_a_tracked_person_moving_is_looked_at_every_recheck_when_behind() -> None:
    """In time: every busy_interval_s (0.4 s); behind: every recheck_s (1 s)."""
    cfg = CameraDetectionConfig(busy_interval_s=0.4, recheck_s=1.0)
    in_time = _due_times(DetectionSchedule(cfg), MOVING, tracking=True, behind=False)
    shed = _due_times(DetectionSchedule(cfg), MOVING, tracking=True, behind=True)
    assert len(in_time) >= 8  # every 0.4 s (a frame later where sums of 0.2 fall short)
    assert shed == [10.0, 11.0, 12.0, 13.0]


def test_a_steady_person_is_looked_at_no_less_often_than_recheck() -> None:
    """Steady (0.8 s in time) behind: recheck_s (1 s); a recheck_s shorter than the steady
    interval never makes the detector run more often than in time."""
    cfg = CameraDetectionConfig(busy_interval_s=0.4, recheck_s=1.0)
    shed = _due_times(DetectionSchedule(cfg), MOVING, tracking=True, behind=True, steady=True)
    assert shed == [10.0, 11.0, 12.0, 13.0]
    short = CameraDetectionConfig(busy_interval_s=0.4, recheck_s=0.6)
    in_time = _due_times(DetectionSchedule(short), MOVING, tracking=True, behind=False, steady=True)
    behind = _due_times(DetectionSchedule(short), MOVING, tracking=True, behind=True, steady=True)
    assert behind == in_time == [10.0, 10.8, 11.6, 12.4, 13.2]


def test_new_motion_with_nobody_tracked_every_busy_interval_when_behind() -> None:
    """In time: every frame (a newcomer found at once); behind: every busy_interval_s."""
    cfg = CameraDetectionConfig(busy_interval_s=0.4)
    assert len(_due_times(DetectionSchedule(cfg), MOVING, tracking=False, behind=False)) == 20
    shed = _due_times(DetectionSchedule(cfg), MOVING, tracking=False, behind=True)
    assert shed == [round(10 + 0.4 * i, 1) for i in range(10)]
    s = DetectionSchedule(cfg)
    s.due(MOVING, 0.0, False, behind=True)
    assert s.why is Why.MOTION


def test_a_first_sighting_is_confirmed_every_frame_even_behind() -> None:
    """Pending confirmation: every frame, behind or not; the periodic still recheck too."""
    cfg = CameraDetectionConfig()
    s = DetectionSchedule(cfg)
    pending = _due_times(s, MOVING, tracking=True, behind=True, pending=True)
    assert len(pending) == 20 and s.why is Why.CONFIRM
    still = _due_times(DetectionSchedule(cfg), STILL, tracking=True, behind=True)
    assert still == _due_times(DetectionSchedule(cfg), STILL, tracking=True, behind=False)
    assert still == [10.0, 11.0, 12.0, 13.0]
