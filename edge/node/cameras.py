"""Which cameras the node runs, and which share nothing: a private camera is never opened;
a camera whose privacy mask cannot be applied is blocked and reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.analysis.detect.base import Detector
from edge.capture.base import CameraInput
from edge.capture.factory import build_inputs
from edge.capture.privacy import MaskSpec, PrivacyError
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.config.cameras import CameraConfig
from edge.config.clips import ClipConfig
from edge.core.ids import new_id
from edge.core.kinds import Kind, Severity, State
from edge.core.logs import get_logger
from edge.events.camera import SnapshotTaker
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker

log = get_logger(__name__)


@dataclass(frozen=True)
class PlannedCamera:
    """A camera that will run: its config, opened inputs and mask hash."""

    cfg: CameraConfig
    inputs: list[CameraInput]
    mask_hash: str | None


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
    for cam in cams:
        if cam.private:
            log.info("camera.private", camera=cam.name, note="never opened")
            continue
        try:
            spec = MaskSpec.from_config(cam)
            inputs = build_inputs(cam, record=record, picamera2=picamera2)
        except PrivacyError as e:
            log.error("privacy.camera_blocked", camera=cam.name, error=str(e))
            plan.blocked[cam.name] = str(e)
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
            data={"reason": "privacy_mask", "error": error},
        )
        for name, error in blocked.items()
    ]


def build_recorders(
    plan: CameraPlan, cfg: ClipConfig, submit: Callable[[ClipJob], None]
) -> dict[str, ClipRecorder]:
    """One clip recorder per running camera (none when clips are off)."""
    if not cfg.enabled:
        return {}
    return {
        p.cfg.name: ClipRecorder(
            p.cfg.name, cfg, submit, live=any(i.live for i in p.inputs), fps=p.cfg.fps
        )
        for p in plan.running
    }


def build_workers(
    plan: CameraPlan,
    factory: EventFactory,
    emit: Callable[[Event], None],
    *,
    detector: Detector | None,
    snapshots: SnapshotTaker,
    recorders: dict[str, ClipRecorder],
) -> list[CameraWorker]:
    """One worker (capture and analysis threads) per running camera."""
    return [
        CameraWorker(
            p.cfg,
            p.inputs,
            factory,
            emit,
            detector=detector,
            mask_hash=p.mask_hash,
            snapshots=snapshots,
            record=recorders[p.cfg.name].feed if p.cfg.name in recorders else None,
        )
        for p in plan.running
    ]
