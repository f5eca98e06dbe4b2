"""Is the node making progress? What the systemd watchdog is fed on.

systemd restarts a node that stops sending ``WATCHDOG=1``; a restart cures a process that is
stuck, not a camera that is unplugged. So the rules are:

- A camera that delivers no frames within its ``fault_after_s`` is a ``camera_fault``
  (:mod:`edge.capture.liveness`, raised by the camera's own threads): reported, never a reason
  to stop the watchdog. The node keeps running for its other cameras and sensors; restarting
  it would not bring an unreachable camera back.
- An analysis stage is wedged when frames wait in its queue and ``frames_analysed`` has not
  moved for :attr:`LivenessCheck.stall_s` (a thread stuck in a call): ``analysis_stalled:CAM``.
  An empty queue is an idle stage, not a stalled one.
- A paced worker (one whose loop must keep turning: the housekeeper, which also sends the
  heartbeat and drives the lamp) is wedged when its :attr:`~edge.core.lifecycle.Worker.rounds`
  have not moved for ``stall_s``: ``service_stalled:NAME``.
- A service thread that ended while its service was not asked to stop is dead:
  ``service_dead:NAME`` (links, finalizer, housekeeper: :meth:`Worker.health`). A camera's
  threads may end: a file input is done at its end, a camera blocked by its privacy mask
  halts. Its capture thread of an endless input (RTSP, V4L2, CSI) or its analysis thread
  while capture still runs may not.

The watchdog is fed while nothing is wedged and nothing is dead. The check reads the parts,
and judges on an injected clock, so it is tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.core.lifecycle import Service, ServiceHealth, Worker
from edge.node.camera import CameraWorker

STALL_MIN_S = 30.0
"""The shortest time without progress that counts as stuck: longer than any call a stage
makes (a detector on a slow board, a clip written to a slow card)."""


def stall_limit(ping_interval_s: float | None) -> float:
    """The stall limit for a watchdog pinged every *ping_interval_s*: max(30 s, 3 intervals),
    so a stage is called stuck only after several pings, never on one slow moment."""
    return max(STALL_MIN_S, 3 * (ping_interval_s or 0.0))


@dataclass(frozen=True, slots=True)
class Progress:
    """One stage's progress counter, read at one moment."""

    kind: str
    """``analysis`` (a camera's analysis thread) or ``service`` (a paced worker)."""
    name: str
    """The camera's or the service's name."""
    count: int
    """Frames analysed, or rounds of the loop."""
    waiting: int
    """Work waiting (frames queued; 1 for a paced loop, which always has its next round to
    do). A stage with nothing waiting is idle, never stalled."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What the check reads of the node's parts at one moment."""

    progress: tuple[Progress, ...] = ()
    dead: tuple[ServiceHealth, ...] = ()


@dataclass(frozen=True, slots=True)
class Stall:
    """A stage that has work waiting and has made no progress for ``seconds``."""

    kind: str
    name: str
    seconds: float
    waiting: int

    @property
    def reason(self) -> str:
        """The status reason: ``analysis_stalled:CAM`` or ``service_stalled:NAME``."""
        return f"{self.kind}_stalled:{self.name}"


@dataclass(frozen=True, slots=True)
class Vitals:
    """The verdict: stalled stages and dead services; the watchdog is fed while it is alive."""

    stalls: tuple[Stall, ...] = ()
    dead: tuple[ServiceHealth, ...] = ()

    @property
    def alive(self) -> bool:
        """Nothing wedged, nothing dead: feed the watchdog."""
        return not self.stalls and not self.dead

    @property
    def reasons(self) -> tuple[str, ...]:
        """``analysis_stalled:CAM``, ``service_stalled:NAME``, ``service_dead:NAME``."""
        return tuple(s.reason for s in self.stalls) + tuple(
            f"service_dead:{d.name}" for d in self.dead
        )


class LivenessCheck:
    """Judges the node's progress. :meth:`judge` is pure but for the clock it is given;
    :meth:`check` reads the parts, then judges. Thread-safe (the watchdog loop, the
    housekeeper's lamp and heartbeat all ask)."""

    def __init__(
        self,
        read: Callable[[], Reading],
        *,
        stall_s: float = STALL_MIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.stall_s = stall_s
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[int, float]] = {}
        """(kind, name) -> (count, when it last moved or the stage was idle)."""
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls,
        cameras: Sequence[CameraWorker],
        services: Sequence[Service],
        *,
        stall_s: float = STALL_MIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> LivenessCheck:
        """A check of a node's *cameras* and its other *services* (a camera among
        *services* is judged as a camera; the sequence is read at every check)."""
        return cls(lambda: read_parts(cameras, services), stall_s=stall_s, clock=clock)

    def check(self) -> Vitals:
        """Read the parts now and judge them."""
        return self.judge(self.read())

    def judge(self, reading: Reading) -> Vitals:
        """Stalls: stages with work waiting whose count has not moved for ``stall_s``."""
        stalls: list[Stall] = []
        with self._lock:
            now = self.clock()
            for p in reading.progress:
                key = (p.kind, p.name)
                count, since = self._seen.get(key, (p.count, now))
                if p.count != count or p.waiting <= 0:
                    since = now
                self._seen[key] = (p.count, since)
                if now - since >= self.stall_s:
                    stalls.append(Stall(p.kind, p.name, round(now - since, 1), p.waiting))
        return Vitals(tuple(stalls), reading.dead)


def read_parts(cameras: Sequence[CameraWorker], services: Sequence[Service]) -> Reading:
    """Progress and dead threads of the node's parts, as they are now."""
    progress: list[Progress] = []
    dead: list[ServiceHealth] = []
    for w in cameras:
        progress.append(Progress("analysis", w.cfg.name, w.frames_analysed, len(w.queue)))
        ended = camera_threads_ended(w)
        if ended:
            dead.append(ServiceHealth(w.name, False, "thread ended: " + ", ".join(ended)))
    camera_ids = {id(w) for w in cameras}
    for s in services:
        if id(s) in camera_ids:
            continue
        if isinstance(s, Worker) and s.rounds is not None and s.threads and not s.stopping.is_set():
            progress.append(Progress("service", s.name, s.rounds, 1))
        health = s.health()
        if not health.alive:
            dead.append(health)
    return Reading(tuple(progress), tuple(dead))


def camera_threads_ended(w: CameraWorker) -> list[str]:
    """Names of the camera's threads that ended though they should run: a capture thread of
    an endless input, or the analysis thread while such a capture thread still runs (a file
    camera's analysis ends after its last capture thread, which may still be winding down).
    Nothing while the camera is stopping or blocked (it halts on purpose). Threads are
    matched to inputs in the order :meth:`CameraWorker.start` spawns them (one capture thread
    per input, then ``analyse-NAME``)."""
    if w.stopping.is_set() or w.sharing.blocked:
        return []
    analysis = [t for t in w.threads if t.name.startswith("analyse-")]
    captures = [t for t in w.threads if not t.name.startswith("analyse-")]
    endless = [t for t, inp in zip(captures, w.inputs, strict=False) if inp.endless]
    ended = [t.name for t in endless if not t.is_alive()]
    if analysis and not analysis[0].is_alive() and any(t.is_alive() for t in endless):
        ended.append(analysis[0].name)
    return ended
