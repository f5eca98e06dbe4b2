"""Sessions of a camera input, and one time for a camera across them.

Every opening of an input (a connection to an RTSP camera, a pass through a file, a start of
a sensor) is a *session*, numbered from 1 per input (``Frame.session``). Stream time
(``Frame.pts``) is session time: it restarts at 0 with every session. Nothing that keeps time
from one frame to the next may therefore compare the pts of two sessions (a reconnect would
make time run backwards). Two helpers keep time across sessions:

- :class:`CameraClock`: one continuous, never decreasing time per camera (*camera time*).
  The first session's camera time is its stream time; every later session continues where
  the previous one stopped, plus the real (monotonic) time between its last frame and the
  new session's first: a 30 s outage is 30 s of camera time in which nothing was seen.
  Stream time going backwards inside a session (a camera resetting its timestamps) is taken
  as a new session too.
- :class:`LagMeter`: how late a live input's frames arrive compared with their stream time
  (decode lag: a decoder or link that cannot keep up).

``log_connected`` logs ``camera.connected`` at the start of every session.
"""

from __future__ import annotations

from edge.capture.frame import Role
from edge.core.logs import get_logger

log = get_logger(__name__)

MIN_STEP_S = 0.001
"""Camera time between the last frame of a session and the first of the next, at least."""

BASELINE_LEAK = 0.001
"""How fast the lag baseline may rise (seconds per second): absorbs a camera clock that runs
slower than the node's (crystal drift, well under 0.1 %), so months of it are not lag."""


def role_name(roles: Role) -> str:
    """``detect``, ``record`` or ``detect+record``."""
    return "+".join(r.name.lower() for r in Role if r in roles and r.name)


def log_connected(
    camera: str,
    roles: Role,
    *,
    session: int,
    codec: str | None,
    width: int | None,
    height: int | None,
    fps: float | None,
    source: str,
) -> None:
    """Log ``camera.connected``: an input's session *session* has started (*source* must be
    redacted already)."""
    log.info(
        "camera.connected",
        camera=camera,
        role=role_name(roles),
        codec=codec,
        width=width,
        height=height,
        fps=None if fps is None else round(fps, 3),
        session=session,
        source=source,
    )


class CameraClock:
    """Camera time: continuous across sessions, never decreasing (see the module)."""

    def __init__(self) -> None:
        self._session: int | None = None
        self._offset = 0.0
        self._last_pts = 0.0
        self._last_mono = 0.0
        self._last_t = 0.0
        self.sessions = 0
        """Sessions (continuations) seen so far."""

    @property
    def offset(self) -> float:
        """Camera time at stream time 0 of the current session."""
        return self._offset

    def at(self, session: int, pts: float, mono: float) -> float:
        """Camera time of the frame at stream time *pts* of *session*, captured at monotonic
        *mono*. Frames must come in capture order; the same frame again gives the same time."""
        if self._session is None:
            self._offset = 0.0
            self.sessions = 1
        elif session != self._session or pts < self._last_pts:
            gap = max(mono - self._last_mono, MIN_STEP_S)
            self._offset = self._last_t + gap - pts
            self.sessions += 1
        self._session, self._last_pts, self._last_mono = session, pts, mono
        self._last_t = self._offset + pts
        return self._last_t

    def stream_time(self, t: float) -> float:
        """The current session's stream time of camera time *t* (0 for a time before it)."""
        return max(0.0, t - self._offset)


class LagMeter:
    """Decode lag of one input: how much later than its stream time says a frame arrives,
    against the earliest-arriving frame of the session (frames buffered by a camera at the
    start of a session count as late, as they are)."""

    def __init__(self) -> None:
        self._session: int | None = None
        self._last_pts = 0.0
        self._last_mono = 0.0
        self._base = 0.0

    def lag(self, session: int, pts: float, mono: float) -> float:
        """Seconds the frame at *pts* of *session*, captured at *mono*, is late."""
        behind = mono - pts
        if session != self._session or pts < self._last_pts:
            self._base = behind
        else:
            leaked = self._base + BASELINE_LEAK * max(0.0, mono - self._last_mono)
            self._base = min(behind, leaked)
        self._session, self._last_pts, self._last_mono = session, pts, mono
        return behind - self._base
