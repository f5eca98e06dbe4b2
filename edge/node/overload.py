"""Honest about overload: how many analysis frames each camera dropped and how fast it was
analysed over a recent window, and a node-level reason when that is more than it may be.

A live camera's analysis queue drops its oldest frame when the analysis falls behind
(:class:`edge.core.queues.FrameQueue`): the frames handed to analysis are those analysed
plus those dropped. Once a second (a housekeeping task) :meth:`OverloadWatch.check`
samples each camera's two counters and its lag (from ``settle_s`` after its first frame:
start-up drops say nothing about the load); over the last ``health.overload.window_s`` it
finds per camera the frames dropped, their share, the analysed fps against the
configured one, and the node's reasons:

``overloaded: 20% of frames dropped on 32 cameras``
``overloaded: analysis 14 s behind on 2 cameras``

The first when a camera (with at least ``min_frames`` in the window) dropped more than
``drop_share`` of its frames; the share named is that of those cameras together. The second
when a camera's newest analysed frame was more than ``lag_s`` behind real time. Each clears
only when every camera is below half its bound (hysteresis: a node near a bound does not
flap). The figures in a reason are coarse (whole percent, whole seconds) and renewed at
most every :data:`RENEW_S`, so a reason does not change every second (a changed reason is
a state file written, :mod:`edge.node.statewatch`). Entering and clearing are logged
(``node.overloaded``, ``node.overload_cleared``).

The reasons' text is :mod:`edge.wire.overload` (the receiver reads it back with
:func:`edge.wire.overload.parse` and shows it translated)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from edge.config.cameras import CameraConfig
from edge.config.overload import OverloadConfig
from edge.core.logs import get_logger
from edge.wire.overload import drops_reason, lag_reason

log = get_logger(__name__)

RENEW_S = 10.0
"""A reason's figures are renewed at most this often while it stands."""
_SLACK_S = 0.5
ROWS = 120
"""Samples kept per camera at most (about: one more while the oldest ages out)."""


class Counted(Protocol):
    """What is read of a camera (:class:`edge.node.camera.CameraWorker`)."""

    cfg: CameraConfig
    frames_analysed: int
    lag_s: float | None

    @property
    def dropped(self) -> int:
        """Analysis frames dropped since start."""
        ...


@dataclass(frozen=True, slots=True)
class CameraLoad:
    """One camera's analysis over the window."""

    analysed: int = 0
    dropped: int = 0
    span_s: float = 0.0
    """Seconds the window's samples cover (less than ``window_s`` just after start)."""
    fps_configured: float = 0.0
    lag_s: float | None = None
    """The lag of its newest analysed frame, when one was analysed in the window."""

    @property
    def offered(self) -> int:
        """Frames handed to analysis in the window (analysed or dropped)."""
        return self.analysed + self.dropped

    @property
    def share(self) -> float:
        """Share of the frames handed to analysis that were dropped (0 when none came)."""
        return self.dropped / self.offered if self.offered else 0.0

    @property
    def fps(self) -> float | None:
        """Frames analysed per second over the window (None before half a second of samples)."""
        return self.analysed / self.span_s if self.span_s >= 0.5 else None

    def health(self) -> dict[str, Any]:
        """The camera's figures in the heartbeat (``edge status``, the receiver's board)."""
        fps = self.fps
        return {
            "dropped_recent": self.dropped,
            "dropped_share": round(self.share, 4),
            "fps": None if fps is None else round(fps, 2),
            "fps_configured": self.fps_configured,
            "window_s": round(self.span_s, 1),
        }


class _Samples:
    """(time, analysed, dropped) of one camera over the window (give or take a sample:
    checks come about once a second, never exactly), from *settle_s* after its first frame
    on (a decoder's and the detector's first calls are slow: frames dropped then say nothing
    about the load). The history keeps at most about :data:`ROWS` samples whatever the
    window (a long window keeps them further apart); the newest is always the last look."""

    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._first: float | None = None
        self._rows: deque[tuple[float, int, int]] = deque()
        self._last: tuple[float, int, int] | None = None

    def add(self, now: float, analysed: int, dropped: int, window_s: float) -> None:
        if self._first is None and analysed + dropped > 0:
            self._first = now
        if self._first is None or now < self._first + self.settle_s:
            return
        self._last = (now, analysed, dropped)
        if not self._rows or now - self._rows[-1][0] >= window_s / ROWS:
            self._rows.append(self._last)
        while len(self._rows) > 1 and self._rows[0][0] < now - window_s - _SLACK_S:
            self._rows.popleft()

    def delta(self) -> tuple[int, int, float]:
        """(analysed, dropped, seconds) between the oldest sample and the last look."""
        if not self._rows or self._last is None:
            return 0, 0, 0.0
        t0, a0, d0 = self._rows[0]
        t1, a1, d1 = self._last
        return max(0, a1 - a0), max(0, d1 - d0), t1 - t0


class _Judged:
    """One reason's standing: on or off, and its text (renewed at most every RENEW_S)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.on = False
        self.text: str | None = None
        self.renewed = 0.0

    def update(self, now: float, text: str | None, **fields: Any) -> None:
        if text is None:
            if self.on:
                log.warning("node.overload_cleared", what=self.what, was=self.text)
            self.on, self.text = False, None
            return
        if not self.on:
            log.error("node.overloaded", what=self.what, reason=text, **fields)
            self.on, self.text, self.renewed = True, text, now
        elif text != self.text and now - self.renewed >= RENEW_S:
            self.text, self.renewed = text, now


class OverloadWatch:
    """Samples *cameras* on every :meth:`check` and judges the node overloaded or not
    (see the module). Reads (:meth:`reasons`, :meth:`load`) are thread-safe."""

    def __init__(
        self,
        cameras: Sequence[Counted],
        cfg: OverloadConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cameras = list(cameras)
        self.cfg = cfg
        self.clock = clock
        self._samples = {id(w): _Samples(cfg.settle_s) for w in self.cameras}
        self._loads: dict[str, CameraLoad] = {}
        self._drops = _Judged("drops")
        self._lag = _Judged("lag")
        self._lock = threading.Lock()

    def check(self) -> None:
        """Sample every camera and judge the window (a housekeeping task, once a second)."""
        now = self.clock()
        loads: dict[str, CameraLoad] = {}
        for w in self.cameras:
            samples = self._samples[id(w)]
            samples.add(now, w.frames_analysed, w.dropped, self.cfg.window_s)
            analysed, dropped, span = samples.delta()
            loads[w.cfg.name] = CameraLoad(
                analysed, dropped, span, w.cfg.fps, w.lag_s if analysed else None
            )
        with self._lock:
            self._loads = loads
            self._judge(now, loads)

    def _judge(self, now: float, loads: dict[str, CameraLoad]) -> None:
        c = self.cfg
        bound = c.drop_share / 2 if self._drops.on else c.drop_share
        over = [x for x in loads.values() if x.offered >= c.min_frames and x.share > bound]
        if over:
            share = sum(x.dropped for x in over) / sum(x.offered for x in over)
            self._drops.update(now, drops_reason(share, len(over)), cameras=len(loads))
        else:
            self._drops.update(now, None)
        lag_bound = c.lag_s / 2 if self._lag.on else c.lag_s
        behind = [x.lag_s for x in loads.values() if x.lag_s is not None and x.lag_s > lag_bound]
        text = lag_reason(max(behind), len(behind)) if behind else None
        self._lag.update(now, text, cameras=len(loads))

    def reasons(self) -> list[str]:
        """The node's overload reasons now (none when it is not overloaded)."""
        with self._lock:
            return [j.text for j in (self._drops, self._lag) if j.text is not None]

    def load(self, camera: str) -> CameraLoad | None:
        """*camera*'s figures as of the last :meth:`check` (None before it)."""
        with self._lock:
            return self._loads.get(camera)
