"""One camera's pipeline: a capture thread and an analysis thread joined by a bounded queue."""

from __future__ import annotations

import threading
from collections.abc import Callable

from edge.capture import Frame, FrameSource, SourceError
from edge.config import CameraConfig
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.motion import MotionEpisodes
from edge.logs import get_logger
from edge.motion import BackgroundMotion, MotionGate
from edge.pipeline.queues import Closed, FrameQueue

log = get_logger(__name__)


class CameraWorker:
    """Capture -> (bounded queue) -> motion gate -> events."""

    def __init__(
        self,
        cfg: CameraConfig,
        source: FrameSource,
        factory: EventFactory,
        emit: Callable[[Event], None],
        *,
        live: bool,
        queue_size: int = 4,
        gate: MotionGate | None = None,
    ) -> None:
        self.cfg = cfg
        self.source = source
        self.emit = emit
        self.gate = gate or BackgroundMotion(cfg.motion)
        self.episodes = MotionEpisodes(factory, cfg.name, cfg.motion.end_after_s)
        self.queue: FrameQueue[Frame] = FrameQueue(queue_size, drop_oldest=live)
        self.frames_analysed = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def dropped(self) -> int:
        """Analysis frames dropped because analysis fell behind."""
        return self.queue.dropped

    def start(self) -> None:
        """Start capturing and analysing."""
        for target, role in ((self._capture, "capture"), (self._analyse, "analyse")):
            t = threading.Thread(target=target, name=f"{role}-{self.cfg.name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stop capturing; analysis finishes what is queued."""
        self._stop.set()
        self.source.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both threads; True when they ended."""
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def _capture(self) -> None:
        try:
            for frame in self.source.frames():
                if self._stop.is_set():
                    break
                self.queue.put(frame)
        except SourceError as e:
            self.error = str(e)
            log.error("capture.failed", camera=self.cfg.name, error=str(e))
        finally:
            self.queue.close()

    def _analyse(self) -> None:
        last: Frame | None = None
        while True:
            try:
                frame = self.queue.get(timeout=1.0)
            except Closed:
                break
            if frame is None:
                continue
            last = frame
            self.frames_analysed += 1
            result = self.gate.process(frame.image)
            for event in self.episodes.update(result, frame.pts, frame.wall):
                self.emit(event)
        if last is not None and self.episodes.active:
            self.emit(self.episodes.finish(last.wall, last.pts))
