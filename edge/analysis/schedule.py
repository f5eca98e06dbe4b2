"""When the detector is worth running: on new motion, to confirm a first sighting, now and
then while someone is tracked, and now and then anyway.

Times are camera time (:class:`edge.capture.session.CameraClock`: continuous across
reconnects), never session stream time, which restarts at 0 with every session. A time before
the last run (which camera time never gives) counts as long ago: the detector is never held
back by a clock that went backwards.
"""

from __future__ import annotations

from enum import StrEnum

from edge.analysis.motion.base import MotionResult
from edge.analysis.steady import STEADY_FACTOR
from edge.config.detection import CameraDetectionConfig

BEHIND_S = 0.4
"""A live camera's analysis is *behind* when the frame it takes was handed to it this long
ago or longer (two frames at 5 fps; its queue holds one second of frames, and drops the
oldest when full). A file being replayed is never behind: every frame is analysed."""


class Why(StrEnum):
    """Why the detector runs on a frame."""

    MOTION = "motion"
    """New motion, nobody tracked."""
    CONFIRM = "confirm"
    """A first sighting not yet confirmed: look again at once."""
    TRACKING = "tracking"
    """Someone tracked: keep up with them."""
    BUSY = "busy"
    """Only known motion (where the detector keeps finding nobody): the periodic full look."""
    IDLE = "idle"
    """Nothing going on: the periodic full look (a person the gate cannot see)."""


class DetectionSchedule:
    """Decides per analysed frame whether to run the detector.

    - an unconfirmed sighting (a track with one hit): every frame until it is confirmed or
      forgotten, so that one hit is followed by a second within ``confirm_window_s``;
    - motion while tracking: at most every ``busy_interval_s``; :data:`STEADY_FACTOR` times
      that while the scene is steady (:mod:`edge.analysis.steady`);
    - new motion and nobody tracked: every frame (find a newcomer at once);
    - only known motion (see :mod:`edge.analysis.regions`): every ``busy_check_s``;
    - no motion while tracking: every ``recheck_s`` (someone standing still);
    - nothing going on: every ``idle_check_s`` if set (counted from the first frame when the
      detector has not run yet), else never;
    - after the camera was lost (:meth:`look_next`): the next frame, whatever the motion (a
      person may have come while nobody watched, and stand still).

    *Behind* (the camera's analysis is behind real time: the node is short of CPU, see
    :data:`BEHIND_S`), the detector sheds the runs that only follow what is known, so the
    analysis catches up instead of dropping frames (which the motion gate, the tamper watch
    and a newcomer's detection all miss): someone tracked is looked at every ``recheck_s`` (as
    if standing still: the tracker keeps still people at that cadence), new motion with nobody
    tracked every ``busy_interval_s`` instead of every frame. A first sighting awaiting
    confirmation is looked at every frame as ever, and the periodic looks are unchanged.

    A lighting change is not motion: the gate has recalibrated, nobody moved. ``why`` says
    why the last due frame was due (a periodic look covers the whole frame, never a crop).
    """

    def __init__(self, cfg: CameraDetectionConfig) -> None:
        self.cfg = cfg
        self._last: float | None = None
        self._first: float | None = None
        self._look = False
        self.why: Why | None = None

    @property
    def last(self) -> float | None:
        """Camera time of the last due frame (None before the first)."""
        return self._last

    def look_next(self) -> None:
        """Make the next frame due for a full look (the camera comes back from an outage)."""
        self._look = True

    def due(
        self,
        motion: MotionResult,
        t: float,
        tracking: bool,
        *,
        pending: bool = False,
        novel: bool = True,
        steady: bool = False,
        behind: bool = False,
    ) -> bool:
        """True when the detector should run on the frame at camera time *t*. *pending*: a
        sighting awaits confirmation; *novel*: the motion is news (not only known motion);
        *steady*: the tracked people are found and all motion is theirs; *behind*: the
        analysis is behind real time (see the class)."""
        last = self._last
        since = float("inf") if last is None or t < last else t - last
        if self._first is None:
            self._first = t
        # the idle look counts from the last run, or from the first frame: nothing going on
        # for idle_check_s, not "never looked"
        idle = since if last is not None else t - self._first
        c = self.cfg
        why: Why | None = None
        if pending:
            why = Why.CONFIRM
        elif self._look:
            why = Why.IDLE
        elif motion.motion and not motion.lighting:
            if tracking:
                # steady: a multiple of the frame interval, not missed by a rounding error
                every = c.busy_interval_s * STEADY_FACTOR - 1e-6 if steady else c.busy_interval_s
                if behind:
                    every = max(every, c.recheck_s - 1e-6)
                why = Why.TRACKING if since >= every else None
            elif novel:
                why = Why.MOTION if not behind or since >= c.busy_interval_s - 1e-6 else None
            else:
                why = Why.BUSY if since >= c.busy_check_s else None
        elif tracking:
            why = Why.TRACKING if since >= c.recheck_s else None
        elif c.idle_check_s > 0 and idle >= c.idle_check_s:
            why = Why.IDLE
        if why is not None:
            self._last = t
            self._look = False
            self.why = why
        return why is not None
