"""One camera's pipeline.

Per input, a capture thread runs the input with reconnects (jittered exponential backoff)
and hands DETECT frames to a bounded queue and record items (packets, stream info, masked
record frames) straight to the record sink, so a slow analyser can never hold back clips.
One analysis thread runs the motion gate and watches every input's liveness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detector
from edge.analysis.motion.base import MotionGate
from edge.capture.base import CameraInput, SourceError
from edge.capture.frame import Frame, Item, Role
from edge.capture.liveness import Liveness
from edge.capture.privacy import PrivacyError
from edge.config.cameras import CameraConfig
from edge.core.backoff import Backoff
from edge.core.ids import new_id
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.core.queues import Closed, FrameQueue
from edge.events.camera import CameraEvents, SnapshotTaker
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State

log = get_logger(__name__)

RecordSink = Callable[[Item], None]


class CameraWorker(Worker):
    """Inputs -> (bounded queue) -> motion gate -> events; record items -> record sink."""

    def __init__(
        self,
        cfg: CameraConfig,
        inputs: list[CameraInput],
        factory: EventFactory,
        emit: Callable[[Event], None],
        *,
        record: RecordSink | None = None,
        mask_hash: str | None = None,
        queue_size: int = 4,
        gate: MotionGate | None = None,
        detector: Detector | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        snapshots: SnapshotTaker | None = None,
    ) -> None:
        super().__init__(f"camera-{cfg.name}")
        self.cfg = cfg
        self.inputs = inputs
        self.factory = factory
        self.emit = emit
        self.record = record
        self.mask_hash = mask_hash
        self.on_frame = on_frame
        self.events = CameraEvents(
            Analyzer(cfg, detector=detector, gate=gate),
            factory,
            mask_hash=mask_hash,
            snapshots=snapshots,
        )
        self.analyzer = self.events.analyzer
        live = any(i.live for i in inputs)
        self.queue: FrameQueue[Frame] = FrameQueue(queue_size, drop_oldest=live)
        self.frames_analysed = 0
        self.analysis_errors = 0
        self.record_items = 0
        self.last_frame_wall: float | None = None
        self.error: str | None = None
        now = time.monotonic()
        self.liveness = {id(i): Liveness(cfg.fault_after_s, now) for i in inputs}
        self._fault_ids: dict[int, str] = {}
        self._stop = self.stopping
        self._captures_left = len(inputs)
        self._lock = threading.Lock()

    @property
    def dropped(self) -> int:
        """Analysis frames dropped because analysis fell behind."""
        return self.queue.dropped

    def start(self) -> None:
        """Start one capture thread per input and the analysis thread."""
        for n, inp in enumerate(self.inputs):
            self.spawn(self._capture, f"capture-{self.cfg.name}-{n}", inp)
        self.spawn(self._analyse, f"analyse-{self.cfg.name}")

    def _stopping(self) -> None:
        """Stop capturing; analysis finishes what is queued."""
        for inp in self.inputs:
            inp.close()

    # -- capture ----------------------------------------------------------------------------

    def _capture(self, inp: CameraInput) -> None:
        watch = self.liveness[id(inp)]
        backoff = Backoff(0.5, self.cfg.reconnect_max_s)
        try:
            while not self._stop.is_set():
                got_any = False
                try:
                    for item in inp.stream():
                        if self._stop.is_set():
                            break
                        if not got_any:
                            got_any = True
                            backoff.reset()
                        restored = watch.seen(time.monotonic())
                        if restored is not None:
                            self._restored(inp, restored.gap_s)
                        self._dispatch(item)
                except PrivacyError as e:
                    self._privacy_failed(inp, e)
                    return
                except SourceError as e:
                    self.error = str(e)
                    log.warning("capture.input_failed", camera=self.cfg.name, error=str(e))
                except Exception as e:  # a bug in an input must not end the camera for good
                    self.error = f"{type(e).__name__}: {e}"
                    log.exception("capture.input_crashed", camera=self.cfg.name)
                if not inp.endless:
                    watch.finished()
                    return
                if self._stop.is_set():
                    return
                delay = backoff.next()
                log.info("capture.reconnect", camera=self.cfg.name, in_s=round(delay, 2))
                self._stop.wait(delay)
        finally:
            with self._lock:
                self._captures_left -= 1
                if self._captures_left == 0:
                    self.queue.close()

    def _dispatch(self, item: Item) -> None:
        if isinstance(item, Frame):
            if Role.DETECT in item.roles:
                self.queue.put(item)
            if Role.RECORD in item.roles and self.record is not None:
                self.record(item)
                self.record_items += 1
        elif self.record is not None:
            self.record(item)
            self.record_items += 1

    # -- faults -----------------------------------------------------------------------------

    def _camera_event(
        self, kind: Kind, severity: Severity, state: State, occurrence: str, **data: object
    ) -> Event:
        return self.factory.make(
            kind,
            severity,
            state,
            occurrence,
            camera=self.cfg.name,
            mask_hash=self.mask_hash,
            data=dict(data),
        )

    def _raise_fault(self, inp: CameraInput, **data: object) -> None:
        occurrence = new_id()
        self._fault_ids[id(inp)] = occurrence
        self.emit(
            self._camera_event(
                Kind.CAMERA_FAULT,
                Severity.ALARM,
                State.START,
                occurrence,
                role=_role_name(inp),
                **data,
            )
        )

    def _privacy_failed(self, inp: CameraInput, exc: PrivacyError) -> None:
        self.error = str(exc)
        log.error("privacy.camera_blocked", camera=self.cfg.name, error=str(exc))
        if self.liveness[id(inp)].force_fault():
            self._raise_fault(inp, reason="privacy_mask", error=str(exc))

    def _restored(self, inp: CameraInput, gap_s: float) -> None:
        occurrence = self._fault_ids.pop(id(inp), new_id())
        log.info("capture.restored", camera=self.cfg.name, gap_s=round(gap_s, 2))
        self.emit(
            self._camera_event(
                Kind.CAMERA_RESTORED,
                Severity.INFO,
                State.END,
                occurrence,
                gap_s=round(gap_s, 3),
                role=_role_name(inp),
            )
        )

    def _check_liveness(self) -> None:
        now = time.monotonic()
        for inp in self.inputs:
            silent = self.liveness[id(inp)].check(now)
            if silent is None:
                continue
            log.warning(
                "capture.fault", camera=self.cfg.name, silent_s=round(silent, 2), error=self.error
            )
            self._raise_fault(inp, silent_s=round(silent, 3), reason="no_frames", error=self.error)

    # -- analysis ---------------------------------------------------------------------------

    def _analyse(self) -> None:
        last: Frame | None = None
        while True:
            try:
                frame = self.queue.get(timeout=0.25)
            except Closed:
                break
            self._check_liveness()
            if frame is None:
                continue
            last = frame
            self.frames_analysed += 1
            self.last_frame_wall = frame.wall
            try:
                self._analyse_frame(frame)
            except Exception:  # one bad frame must not stop the analysis of all that follow
                self.analysis_errors += 1
                log.exception("analysis.frame_failed", camera=self.cfg.name, seq=frame.seq)
        for event in self.events.finish(last):
            self.emit(event)

    def _analyse_frame(self, frame: Frame) -> None:
        if self.on_frame is not None:
            self.on_frame(frame)
        for event in self.events.process(frame):
            self.emit(event)


def _role_name(inp: CameraInput) -> str:
    return "+".join(r.name.lower() for r in Role if r in inp.roles and r.name)
