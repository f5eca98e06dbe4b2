"""Choose and build the inputs of a camera from its config."""

from __future__ import annotations

from typing import Any

from edge.capture.base import CameraInput
from edge.capture.file import FileInput
from edge.capture.frame import Role
from edge.capture.hwerrors import camera_key
from edge.capture.jetson import JetsonInput
from edge.capture.picamera import PiCameraInput
from edge.capture.privacy import MaskSpec
from edge.capture.rtsp import RtspInput
from edge.capture.v4l2 import V4l2Input
from edge.config.cameras import (
    CameraConfig,
    FileSourceConfig,
    JetsonSourceConfig,
    PicameraSourceConfig,
    RtspSourceConfig,
    SourceConfig,
    V4l2SourceConfig,
)


def build_input(
    cam: CameraConfig,
    src: SourceConfig,
    roles: Role,
    *,
    picamera2: Any = None,
    index: int | None = None,
) -> CameraInput:
    """The input for *src* serving *roles* of *cam* (``cameras[index]`` in the config, named
    so in hardware errors). Raises PrivacyError for a bad mask."""
    if cam.private:
        raise PermissionError(f"camera {cam.name!r} is private: it is never opened")
    mask = MaskSpec.from_config(cam)
    key = camera_key(cam.name, index)
    if isinstance(src, FileSourceConfig):
        return FileInput(
            cam.name,
            src.path,
            roles=roles,
            analysis_fps=cam.fps,
            fps=src.fps,
            realtime=src.realtime,
            loop=src.loop,
            mask=mask,
        )
    if isinstance(src, RtspSourceConfig):
        return RtspInput(
            cam.name,
            src.url,
            roles=roles,
            analysis_fps=cam.fps,
            open_timeout_s=src.open_timeout_s,
            read_timeout_s=src.read_timeout_s,
            mask=mask,
        )
    if isinstance(src, V4l2SourceConfig):
        return V4l2Input(cam.name, src, roles=roles, analysis_fps=cam.fps, mask=mask, key=key)
    if isinstance(src, PicameraSourceConfig):
        return PiCameraInput(
            cam.name,
            src,
            roles=roles,
            analysis_fps=cam.fps,
            mask=mask,
            module=picamera2,
            key=key,
        )
    if isinstance(src, JetsonSourceConfig):
        return JetsonInput(cam.name, src, roles=roles, analysis_fps=cam.fps, mask=mask, key=key)
    raise TypeError(f"unknown source config {type(src).__name__}")


def build_inputs(
    cam: CameraConfig, *, record: bool, picamera2: Any = None, index: int | None = None
) -> list[CameraInput]:
    """One input serving both roles when detect and record are the same, else two; *index* is
    the camera's place in the config (``cameras[index]``)."""
    roles = Role.DETECT | (Role.RECORD if record else Role(0))
    if not record or cam.record is None or cam.record == cam.detect:
        return [build_input(cam, cam.detect, roles, picamera2=picamera2, index=index)]
    return [
        build_input(cam, cam.detect, Role.DETECT, picamera2=picamera2, index=index),
        build_input(cam, cam.record, Role.RECORD, picamera2=picamera2, index=index),
    ]
