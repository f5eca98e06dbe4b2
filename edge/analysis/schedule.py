"""When the detector is worth running: on motion, and now and then while someone is tracked.

Times are camera time (:class:`edge.capture.session.CameraClock`: continuous across
reconnects), never session stream time, which restarts at 0 with every session. A time before
the last run (which camera time never gives) counts as long ago: the detector is never held
back by a clock that went backwards.
"""

from __future__ import annotations

from edge.analysis.motion.base import MotionResult
from edge.config.detection import CameraDetectionConfig


class DetectionSchedule:
    """Decides per analysed frame whether to run the detector.

    - motion and nobody tracked: every frame (find a newcomer at once);
    - motion while tracking: at most every ``busy_interval_s``;
    - no motion while tracking: every ``recheck_s`` (someone standing still);
    - nothing going on: every ``idle_check_s`` if set, else never.

    A lighting change is not motion: the gate has recalibrated, nobody moved.
    """

    def __init__(self, cfg: CameraDetectionConfig) -> None:
        self.cfg = cfg
        self._last: float | None = None

    def due(self, motion: MotionResult, t: float, tracking: bool) -> bool:
        """True when the detector should run on the frame at camera time *t*."""
        last = self._last
        since = float("inf") if last is None or t < last else t - last
        c = self.cfg
        if motion.motion and not motion.lighting:
            run = since >= c.busy_interval_s if tracking else True
        elif tracking:
            run = since >= c.recheck_s
        else:
            run = c.idle_check_s > 0 and since >= c.idle_check_s
        if run:
            self._last = t
        return run
