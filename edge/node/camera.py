"""One camera's pipeline.

Per input, a capture thread runs the input with reconnects (jittered exponential backoff)
and hands DETECT frames to a bounded queue and record items (packets, stream info, masked
record frames) straight to the record sink, so a slow analyser can never hold back clips.
One analysis thread runs the motion gate and watches every input's liveness.

Reconnects: every opening of an input is a session (``Frame.session``, logged as
``camera.connected``); its stream time restarts at 0, and the analysis keeps one continuous
camera time across sessions (:mod:`edge.analysis.analyzer`), so a reconnect changes nothing
downstream but the gap. Attempts back off from 0.5 s to ``reconnect_max_s``: a camera whose
server returns is back within that cap (plus its open time).

Lag: ``lag_s`` is how far behind real time the newest analysed frame was when analysed: its
wait in the queue plus the decode lag of its input (``decode_lag_s``: how much later than its
stream time says it came out of the decoder, against the session's earliest frame).

Faults: an input that cannot be opened or decoded raises ``camera_fault`` at once (a file
always; a camera that has not delivered yet), one that goes silent after
``fault_after_s``. A camera whose detect input is lost (its connection failed after it had
delivered, or it faulted) ends what its analysis has open (person tracks, a motion episode)
at its last frame, as soon as the frames before the loss are analysed: nobody is tracked
through a time nobody watched (:meth:`edge.analysis.analyzer.Analyzer.lost`). A privacy-mask
fault on any input blocks the whole camera (:class:`Sharing`): all its inputs stop and
nothing of it leaves but that one fault. Every error text is redacted
(no URL credentials) before it is logged, kept or sent.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detector
from edge.analysis.detect.queue import CameraDetector
from edge.analysis.motion.base import MotionGate
from edge.analysis.schedule import BEHIND_S
from edge.capture.base import CameraInput, SourceError
from edge.capture.frame import Frame, Item, Role
from edge.capture.liveness import Liveness
from edge.capture.privacy import PrivacyError
from edge.capture.redact import redact
from edge.capture.session import LagMeter, role_name
from edge.clips.recorder import frame_bytes
from edge.config.cameras import CameraConfig
from edge.core.backoff import Backoff
from edge.core.ids import new_id
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.core.queues import Closed, FrameQueue
from edge.events.camera import CameraEvents, SnapshotTaker
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.node.memory import ANALYSIS_QUEUE_BYTES, analysis_queue_frames
from edge.node.sharing import SharedSnapshots, Sharing

log = get_logger(__name__)

RecordSink = Callable[[Item], None]

__all__ = ["CameraWorker", "RecordSink", "Sharing"]


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
        queue_size: int | None = None,
        gate: MotionGate | None = None,
        detector: Detector | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        snapshots: SnapshotTaker | None = None,
        sharing: Sharing | None = None,
    ) -> None:
        super().__init__(f"camera-{cfg.name}")
        self.cfg = cfg
        self.inputs = inputs
        self.factory = factory
        self.emit = emit
        self.record = record
        self.mask_hash = mask_hash
        self.on_frame = on_frame
        self.sharing = sharing or Sharing()
        self.events = CameraEvents(
            Analyzer(cfg, detector=detector, gate=gate),
            factory,
            mask_hash=mask_hash,
            snapshots=None if snapshots is None else SharedSnapshots(snapshots, self.sharing),
        )
        self.analyzer = self.events.analyzer
        live = any(i.live for i in inputs)
        # live, the shared detector is asked and not waited for: a person on every camera
        # at once makes the answers come later, never the frames drop (analysis/analyzer.py)
        self.analyzer.asynchronous = live and isinstance(detector, CameraDetector)
        self.live = live
        """A live camera (its queue drops the oldest frame when full; a replay waits)."""
        self.queue: FrameQueue[Frame] = FrameQueue(
            queue_size or analysis_queue_frames(cfg.fps),  # seconds of frames, within bytes
            live,
            max_bytes=ANALYSIS_QUEUE_BYTES,
            size_of=frame_bytes,
        )
        self.frames_analysed = 0
        self.analysis_errors = 0
        self.record_items = 0
        self.last_frame_wall: float | None = None
        self.lag_s: float | None = None
        """How far behind real time the newest analysed frame was (see the module)."""
        self.decode_lag_s: float | None = None
        """The decode lag part of ``lag_s``."""
        self.session: int | None = None
        """The input session of the newest analysed frame."""
        self._lag = LagMeter()
        self.error: str | None = None
        """The last input failure, redacted."""
        now = time.monotonic()
        self.liveness = {id(i): Liveness(cfg.fault_after_s, now) for i in inputs}
        self._fault_ids: dict[int, str] = {}
        self._delivered: set[int] = set()  # inputs that delivered at least once
        self._halt = threading.Event()  # stopped, or blocked: capture ends
        self._lost = threading.Event()  # the detect input was lost: end what is open
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
        self._halt.set()
        for inp in self.inputs:
            inp.close()

    def _emit(self, event: Event) -> None:
        self.sharing.send(self.emit, event)

    # -- capture ----------------------------------------------------------------------------

    def _capture(self, inp: CameraInput) -> None:
        watch = self.liveness[id(inp)]
        backoff = Backoff(0.5, self.cfg.reconnect_max_s)
        try:
            while not self._halt.is_set():
                got_any = False
                try:
                    for item in inp.stream():
                        if self._halt.is_set():
                            break
                        if not got_any:
                            got_any = True
                            self._delivered.add(id(inp))
                            backoff.reset()
                        restored = watch.seen(time.monotonic())
                        if restored is not None:
                            self._restored(inp, restored.gap_s)
                        self._dispatch(item)
                except PrivacyError as e:
                    self._privacy_failed(inp, e)
                    return
                except SourceError as e:
                    self._input_failed(inp, e)
                except Exception as e:  # a bug in an input must not end the camera for good
                    self._input_crashed(inp, e)
                if not inp.endless:
                    watch.finished()
                    return
                if self._halt.is_set():
                    return
                delay = backoff.next()
                log.info("capture.reconnect", camera=self.cfg.name, in_s=round(delay, 2))
                self._halt.wait(delay)
        finally:
            with self._lock:
                self._captures_left -= 1
                if self._captures_left == 0:
                    self.queue.close()

    def _dispatch(self, item: Item) -> None:
        if self.sharing.blocked:
            return
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

    def _fault(self, inp: CameraInput, **data: object) -> Event:
        occurrence = new_id()
        self._fault_ids[id(inp)] = occurrence
        return self._camera_event(
            Kind.CAMERA_FAULT,
            Severity.ALARM,
            State.START,
            occurrence,
            role=_role_name(inp),
            **data,
        )

    def _fault_now(self, inp: CameraInput, reason: str, error: str) -> None:
        """A fault that waiting will not cure: raised at once (once, until frames return)."""
        if self.liveness[id(inp)].force_fault():
            self._emit(self._fault(inp, reason=reason, error=error))

    def _input_failed(self, inp: CameraInput, exc: SourceError) -> None:
        error = redact(str(exc))
        if self._halt.is_set():
            return  # closed on purpose (stopping, or the camera is blocked): no news
        self.error = error
        log.warning(
            "capture.input_failed",
            camera=self.cfg.name,
            role=_role_name(inp),
            reason=str(exc.reason),
            error=error,
        )
        # a file fails for good; a camera that never delivered is misconfigured or absent,
        # while one that did is given fault_after_s to come back (liveness)
        if not inp.endless or id(inp) not in self._delivered:
            self._fault_now(inp, str(exc.reason), error)
        self._note_lost(inp)

    def _note_lost(self, inp: CameraInput) -> None:
        """A live detect input stopped delivering: the analysis ends what it has open."""
        if inp.endless and Role.DETECT in inp.roles and id(inp) in self._delivered:
            self._lost.set()

    def _input_crashed(self, inp: CameraInput, exc: Exception) -> None:
        error = redact(f"{type(exc).__name__}: {exc}")
        if not self.sharing.blocked:
            self.error = error
        log.error(
            "capture.input_crashed",
            camera=self.cfg.name,
            role=_role_name(inp),
            error=error,
            traceback=redact("".join(traceback.format_exception(exc))),
        )
        if not inp.endless:
            self._fault_now(inp, "input_crashed", error)
        self._note_lost(inp)

    def _privacy_failed(self, inp: CameraInput, exc: PrivacyError) -> None:
        """A mask that cannot be applied to one input: the whole camera shares nothing."""
        error = redact(str(exc))

        def last() -> None:
            self.error = error
            log.error(
                "privacy.camera_blocked", camera=self.cfg.name, role=_role_name(inp), error=error
            )
            self.liveness[id(inp)].force_fault()
            self.emit(self._fault(inp, reason="privacy_mask", error=error))

        if self.sharing.block(last):
            self._halt.set()
            for other in self.inputs:
                other.close()

    def _restored(self, inp: CameraInput, gap_s: float) -> None:
        occurrence = self._fault_ids.pop(id(inp), new_id())
        log.info("capture.restored", camera=self.cfg.name, gap_s=round(gap_s, 2))
        self._emit(
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
        if self.sharing.blocked:
            return  # the camera was stopped on purpose: its silence is no news
        now = time.monotonic()
        for inp in self.inputs:
            silent = self.liveness[id(inp)].check(now)
            if silent is None:
                continue
            error = self.error  # redacted where it was set
            log.warning(
                "capture.fault", camera=self.cfg.name, silent_s=round(silent, 2), error=error
            )
            self._emit(self._fault(inp, silent_s=round(silent, 3), reason="no_frames", error=error))
            self._note_lost(inp)

    # -- analysis ---------------------------------------------------------------------------

    def _analyse(self) -> None:
        last: Frame | None = None
        while True:
            try:
                frame = self.queue.get(timeout=0.25)
            except Closed:
                break
            self._check_liveness()
            if self._lost.is_set() and (
                frame is None or last is None or frame.session != last.session
            ):
                self._lost.clear()  # frames of before the loss are analysed: end at the last
                self._camera_lost(last)
            if frame is None or self.sharing.blocked:
                continue  # a blocked camera's frames are dropped unseen
            last = frame
            self.frames_analysed += 1
            self.last_frame_wall = frame.wall
            self._note_lag(frame)
            # a live camera whose frame waited long is behind: the detector sheds follow-ups
            self.analyzer.behind = self.live and time.monotonic() - frame.mono >= BEHIND_S
            try:
                self._analyse_frame(frame)
            except Exception:  # one bad frame must not stop the analysis of all that follow
                self.analysis_errors += 1
                log.exception("analysis.frame_failed", camera=self.cfg.name, seq=frame.seq)
        if not self.sharing.blocked:
            for event in self.events.finish(last):
                self._emit(event)

    def _camera_lost(self, last: Frame | None) -> None:
        if self.sharing.blocked:
            return
        seen = self.analyzer.lost(last)
        if seen:
            log.info("analysis.camera_lost", camera=self.cfg.name, ended=len(seen))
        for o in seen:
            self._emit(self.events.event(o))

    def _note_lag(self, frame: Frame) -> None:
        decode = self._lag.lag(frame.session, frame.pts, frame.mono)
        self.decode_lag_s = decode
        self.lag_s = decode + max(0.0, time.monotonic() - frame.mono)
        self.session = frame.session

    def _analyse_frame(self, frame: Frame) -> None:
        if self.on_frame is not None:
            self.on_frame(frame)
        for event in self.events.process(frame):
            self._emit(event)


def _new_session(frame: Frame, last: Frame | None) -> bool:
    return last is None or frame.session != last.session


def _role_name(inp: CameraInput) -> str:
    return role_name(inp.roles)
