"""Which cameras the node runs, and which share nothing: a private camera is never opened;
a camera whose privacy mask cannot be applied is blocked and reported, before it starts (a bad
mask) or while it runs (a stream of another shape, on any of its inputs: :class:`Sharing`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.analysis.detect.base import Detector
from edge.analysis.detect.queue import DetectorQueue
from edge.capture.base import CameraInput
from edge.capture.factory import build_inputs
from edge.capture.privacy import MaskSpec, PrivacyError
from edge.capture.redact import redact
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.config.cameras import CameraConfig
from edge.config.clips import ClipConfig
from edge.core.ids import new_id
from edge.core.kinds import Kind, Severity, State
from edge.core.logs import get_logger
from edge.events.camera import SnapshotTaker
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker, Sharing

log = get_logger(__name__)


@dataclass(frozen=True)
class PlannedCamera:
    """A camera that will run: its config, opened inputs, mask hash, and whether it may still
    share (one :class:`Sharing` for its worker and its clip recorder)."""

    cfg: CameraConfig
    inputs: list[CameraInput]
    mask_hash: str | None
    sharing: Sharing = field(default_factory=Sharing)


@dataclass
class CameraPlan:
    """The cameras to run, and those blocked (name -> why)."""

    running: list[PlannedCamera]
    blocked: dict[str, str]

    @property
    def mask_hashes(self) -> dict[str, str | None]:
        """Mask hash of every running camera (None: unmasked)."""
        return {c.cfg.name: c.mask_hash for c in self.running}


def plan_cameras(cams: list[CameraConfig], *, record: bool, picamera2: Any = None) -> CameraPlan:
    """Validate masks and build inputs; private cameras are skipped, unmaskable ones blocked."""
    plan = CameraPlan([], {})
    for index, cam in enumerate(cams):
        if cam.private:
            log.info("camera.private", camera=cam.name, note="never opened")
            continue
        try:
            spec = MaskSpec.from_config(cam)
            inputs = build_inputs(cam, record=record, picamera2=picamera2, index=index)
        except PrivacyError as e:
            error = redact(str(e))
            log.error("privacy.camera_blocked", camera=cam.name, error=error)
            plan.blocked[cam.name] = error
            continue
        plan.running.append(PlannedCamera(cam, inputs, spec.digest if spec else None))
    return plan


def blocked_faults(factory: EventFactory, blocked: dict[str, str]) -> list[Event]:
    """One ``camera_fault`` alarm per blocked camera (raised when the node starts)."""
    return [
        factory.make(
            Kind.CAMERA_FAULT,
            Severity.ALARM,
            State.START,
            new_id(),
            camera=name,
            data={"reason": "privacy_mask", "error": redact(error)},
        )
        for name, error in blocked.items()
    ]


class SharedRecorder(ClipRecorder):
    """A camera's clip recorder that opens and hands over no clip once the camera is blocked
    (what it holds stays on the node, unshared)."""

    def __init__(
        self,
        camera: PlannedCamera,
        cfg: ClipConfig,
        submit: Callable[[ClipJob], None],
    ) -> None:
        self.sharing = camera.sharing
        self._submit = submit
        live = any(i.live for i in camera.inputs)
        super().__init__(camera.cfg.name, cfg, self._hand_over, live=live, fps=camera.cfg.fps)

    def _hand_over(self, job: ClipJob) -> None:
        if self.sharing.blocked:
            log.warning("clip.withheld", camera=self.camera, clip=job.clip_id, why="blocked")
            job.drop_journal()
            return
        self._submit(job)

    def hold(self, key: str, event_id: str, t: float | None = None) -> str | None:
        """As :meth:`ClipRecorder.hold`; None (no clip) once the camera is blocked."""
        if self.sharing.blocked:
            return None
        return super().hold(key, event_id, t)


def build_recorders(
    plan: CameraPlan, cfg: ClipConfig, submit: Callable[[ClipJob], None]
) -> dict[str, ClipRecorder]:
    """One clip recorder per running camera (none when clips are off)."""
    if not cfg.enabled:
        return {}
    return {p.cfg.name: SharedRecorder(p, cfg, submit) for p in plan.running}


def build_workers(
    plan: CameraPlan,
    factory: EventFactory,
    emit: Callable[[Event], None],
    *,
    detector: DetectorQueue | Detector | None,
    snapshots: SnapshotTaker,
    recorders: dict[str, ClipRecorder],
) -> list[CameraWorker]:
    """One worker (capture and analysis threads) per running camera; a shared
    :class:`DetectorQueue` is asked through each camera's own turn."""

    def seen_by(camera: str) -> Detector | None:
        if isinstance(detector, DetectorQueue):
            return detector.for_camera(camera)
        return detector

    return [
        CameraWorker(
            p.cfg,
            p.inputs,
            factory,
            emit,
            detector=seen_by(p.cfg.name),
            mask_hash=p.mask_hash,
            snapshots=snapshots,
            record=recorders[p.cfg.name].feed if p.cfg.name in recorders else None,
            sharing=p.sharing,
        )
        for p in plan.running
    ]
