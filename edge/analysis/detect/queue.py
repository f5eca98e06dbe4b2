"""One detector shared by every camera, served through a queue that is fair across cameras.

Every camera's analysis thread asks the node's one detector (:func:`shared_detector`) through
its own :class:`CameraDetector`, which waits for the answer. The queue serves the cameras that
wait in turn (round robin): a camera with a request waiting is served before any other camera
is served twice, so a person on every camera at once cannot starve one of them, and a burst
is spread over the detector's threads instead of N calls competing for the cores at once.

- Per camera, requests are served in the order they came; at most ``depth`` wait (the caller
  of :meth:`CameraDetector.detect` waits for its answer, so that is one). When a camera's
  line is full the oldest waiting request gives way to the newest (it is answered with
  :class:`Superseded`: never lost unanswered).
- ``workers`` threads call the detector, each call on one core (onnxruntime intra-op threads
  1): two calls in parallel cost less CPU per call than one call spread over two threads
  (measured: yolox_nano 416, 21.4 ms against 23.6-25.2 ms of CPU per call).
- A detector that raises answers that request with a :class:`DetectorError` naming the camera
  (the analysis counts it and goes on); one that does not answer within ``answer_s`` answers
  with :class:`NoAnswer` (logged ``detector.no_answer``): a caller is never left hanging. A
  queue thread that dies, or a call that has run for longer than ``answer_s``, is reported by
  :meth:`health` (the node's liveness: ``service_dead:detector``).
- Not started, or stopped (the node stops its cameras first; their analysis finishes what is
  queued), a request is served on the caller's own thread: nothing is refused.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from edge.analysis.detect.base import Detection, Detector
from edge.analysis.detect.factory import build_detector
from edge.capture.frame import Image
from edge.config.detection import DetectorConfig
from edge.core.errors import DetectorError
from edge.core.lifecycle import ServiceHealth, Worker
from edge.core.logs import get_logger

log = get_logger(__name__)

ANSWER_S = 30.0
"""How long a caller waits for the detector by default: longer than any call on a slow board
with every camera waiting before it."""


class Superseded(DetectorError):
    """A newer request of the same camera took this waiting request's place."""


class NoAnswer(DetectorError):
    """The detector did not answer within the queue's ``answer_s`` (hung, or its thread died)."""


@dataclass(eq=False)
class Ticket:
    """One request: the camera, the image, and (once answered) the detections or the error."""

    camera: str
    image: Image
    seq: int
    done: threading.Event = field(default_factory=threading.Event)
    detections: list[Detection] | None = None
    error: DetectorError | None = None

    def answer(self, detections: list[Detection] | None, error: DetectorError | None) -> None:
        """Answer once (a later answer to an answered ticket is ignored)."""
        if self.done.is_set():
            return
        self.detections, self.error = detections, error
        self.done.set()

    def result(self, timeout: float | None) -> list[Detection]:
        """The detections; raises the request's error, or :class:`NoAnswer` after *timeout*."""
        if not self.done.wait(timeout):
            raise NoAnswer(
                f"camera {self.camera!r}: the detector did not answer within {timeout} s"
            )
        if self.error is not None:
            raise self.error
        assert self.detections is not None
        return self.detections


@dataclass
class QueueStats:
    """What the queue did, for benches and status."""

    served: dict[str, int] = field(default_factory=dict)
    """Requests answered with detections, per camera."""
    failed: int = 0
    """Requests the detector raised on."""
    superseded: int = 0
    """Waiting requests that gave way to a newer one of their camera."""
    no_answer: int = 0
    """Callers that stopped waiting (the detector hung or its thread died)."""
    inline: int = 0
    """Requests served on the caller's thread (queue not running)."""
    busy_s: float = 0.0
    """Seconds spent in detector calls by the queue's threads."""


class DetectorQueue(Worker):
    """A fair, bounded queue in front of one detector (see the module)."""

    def __init__(
        self,
        detector: Detector,
        *,
        workers: int = 1,
        depth: int = 1,
        answer_s: float = ANSWER_S,
        name: str = "detector",
    ) -> None:
        if workers < 1 or depth < 1 or answer_s <= 0:
            raise ValueError(
                f"detector queue: workers ({workers}) and depth ({depth}) must be at least 1, "
                f"answer_s ({answer_s}) above 0"
            )
        super().__init__(name)
        self.detector = detector
        self.workers = workers
        self.depth = depth
        self.answer_s = answer_s
        self.stats = QueueStats()
        self._lines: dict[str, deque[Ticket]] = {}
        self._turns: deque[str] = deque()  # cameras with a request waiting, in serving order
        self._cond = threading.Condition()
        self._running = False
        self._seq = 0
        self._calls: dict[int, float] = {}  # thread id -> when its detector call began

    # -- service ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the queue's threads."""
        with self._cond:
            self._running = True
        for n in range(self.workers):
            self.spawn(self._serve, f"{self.name}-{n}")

    def _stopping(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify_all()
            s = self.stats
            log.info(
                "detector.queue_stopped",
                served=dict(s.served),
                failed=s.failed,
                superseded=s.superseded,
                no_answer=s.no_answer,
                inline=s.inline,
                busy_s=round(s.busy_s, 1),
            )

    def health(self) -> ServiceHealth:
        """As :meth:`Worker.health`; besides, not alive while a detector call has run for
        longer than ``answer_s`` (a hung detector: its callers get :class:`NoAnswer`)."""
        health = super().health()
        with self._cond:
            began = min(self._calls.values(), default=None)
        running = None if began is None else time.monotonic() - began
        if health.alive and running is not None and running > self.answer_s:
            return ServiceHealth(self.name, False, f"a detector call has run for {running:.0f} s")
        return health

    @property
    def waiting(self) -> int:
        """Requests waiting for a turn."""
        with self._cond:
            return sum(len(line) for line in self._lines.values())

    # -- callers ----------------------------------------------------------------------------

    def for_camera(self, camera: str) -> CameraDetector:
        """The detector as *camera*'s analysis sees it."""
        return CameraDetector(self, camera)

    def submit(self, camera: str, image: Image) -> Ticket:
        """Queue a request for *camera* (answered at once on this thread when the queue is
        not running)."""
        with self._cond:
            self._seq += 1
            ticket = Ticket(camera, image, self._seq)
            if self._running:
                line = self._lines.setdefault(camera, deque())
                if len(line) >= self.depth:
                    old = line.popleft()
                    self.stats.superseded += 1
                    old.answer(None, Superseded(f"camera {camera!r}: a newer request came"))
                if not line:
                    self._turns.append(camera)
                line.append(ticket)
                self._cond.notify()
                return ticket
            self.stats.inline += 1
        self._call(ticket)
        return ticket

    def detect(self, camera: str, image: Image) -> list[Detection]:
        """People in *image* for *camera*: queued, then waited for (see :class:`Ticket`)."""
        ticket = self.submit(camera, image)
        try:
            return ticket.result(self.answer_s)
        except NoAnswer:
            with self._cond:
                line = self._lines.get(camera)
                if line is not None and ticket in line:
                    line.remove(ticket)  # never started: take it out of the line
                    if not line and camera in self._turns:
                        self._turns.remove(camera)
                self.stats.no_answer += 1
            log.error("detector.no_answer", camera=camera, waited_s=self.answer_s)
            raise

    # -- the queue's threads ----------------------------------------------------------------

    def _next(self) -> Ticket | None:
        """The next request in turn, waiting for one; None once stopping."""
        with self._cond:
            while True:
                if not self._running:
                    return None
                while self._turns:
                    camera = self._turns.popleft()
                    line = self._lines.get(camera)
                    if not line:
                        continue  # its only request was taken out (its caller gave up)
                    ticket = line.popleft()
                    if line:
                        self._turns.append(camera)  # the rest waits for its next turn
                    return ticket
                self._cond.wait()

    def _serve(self) -> None:
        while True:
            ticket = self._next()
            if ticket is None:
                self._drain()
                return
            self._call(ticket)

    def _drain(self) -> None:
        """Stopping: what still waits is served here, so no caller is left without answer."""
        while True:
            with self._cond:
                ticket = None
                for line in self._lines.values():
                    if line:
                        ticket = line.popleft()
                        break
            if ticket is None:
                return
            self._call(ticket)

    def _call(self, ticket: Ticket) -> None:
        start = time.monotonic()
        me = threading.get_ident()
        with self._cond:
            self._calls[me] = start
        try:
            found = self.detector.detect(ticket.image)
        except Exception as e:  # the detector's own failure: that request's answer
            with self._cond:
                self.stats.failed += 1
            log.warning("detector.failed", camera=ticket.camera, error=f"{type(e).__name__}: {e}")
            error = DetectorError(f"camera {ticket.camera!r}: detector failed: {e}")
            error.__cause__ = e
            ticket.answer(None, error)
            return
        finally:
            with self._cond:
                self._calls.pop(me, None)
        spent = time.monotonic() - start
        with self._cond:
            self.stats.busy_s += spent
            self.stats.served[ticket.camera] = self.stats.served.get(ticket.camera, 0) + 1
        ticket.answer(found, None)


class CameraDetector:
    """One camera's view of the shared detector: a :class:`Detector` whose ``detect`` goes
    through the queue; other attributes (``name``, ``size``) are the detector's own."""

    def __init__(self, queue: DetectorQueue, camera: str) -> None:
        self.queue = queue
        self.camera = camera
        self.name: str = queue.detector.name

    def detect(self, image: Image) -> list[Detection]:
        """People in *image*, through the queue."""
        return self.queue.detect(self.camera, image)

    def submit(self, image: Image) -> Ticket:
        """Ask for the people in *image* without waiting: the ticket is answered when the
        queue has served it (:class:`edge.analysis.analyzer.Analyzer`'s live path)."""
        return self.queue.submit(self.camera, image)

    @property
    def answer_s(self) -> float:
        """How long an answer may take before it counts as none (the queue's)."""
        return self.queue.answer_s

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.queue.detector, attr)


def shared_detector(cfg: DetectorConfig, *, answer_s: float = ANSWER_S) -> DetectorQueue | None:
    """The node's one detector behind its queue (None for a motion-only node): ``threads``
    calls in parallel, each on one core (see the module). Raises what
    :func:`build_detector` raises."""
    detector = build_detector(cfg.model_copy(update={"threads": 1}))
    if detector is None:
        return None
    return DetectorQueue(detector, workers=cfg.threads, answer_s=answer_s)
