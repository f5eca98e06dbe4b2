"""Cameras: where frames come from, at what analysis rate, and how motion is gated."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from edge.config.base import Section

_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class FileSourceConfig(Section):
    """A video file replayed as a camera (mp4, avi, gif, raw .h264)."""

    kind: Literal["file"] = Field(description="Source type: a video file.")
    path: str = Field(min_length=1, description="Path of the video file.")
    fps: float | None = Field(
        default=None,
        gt=0,
        le=240,
        description=(
            "Frame rate to assume when the stream carries no timestamps (raw .h264). "
            "Default: from the stream, else 25."
        ),
    )
    realtime: bool = Field(
        default=False,
        description="Pace frames to their timestamps, as a live camera would; else as fast as "
        "the pipeline takes them.",
    )
    loop: bool = Field(default=False, description="Start again at the end of the file.")


class RtspSourceConfig(Section):
    """An IP camera stream read with FFmpeg (RTSP over TCP, or HTTP)."""

    kind: Literal["rtsp"] = Field(description="Source type: an RTSP/HTTP IP camera.")
    url: str = Field(
        pattern=r"^(rtsp|rtsps|http|https)://[^\s]+$",
        description="Stream URL, rtsp://, rtsps://, http:// or https://.",
    )
    open_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="Give up opening the stream after this long."
    )
    read_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="Treat the stream as dead after this long silent."
    )


SourceConfig = Annotated[FileSourceConfig | RtspSourceConfig, Field(discriminator="kind")]


class MotionConfig(Section):
    """The motion gate: cheap per-frame analysis that decides when to look closer."""

    width: int = Field(
        default=320, ge=64, le=1920, description="Frames are downscaled to this width first."
    )
    threshold: int = Field(
        default=25, ge=1, le=255, description="Grey-level difference that counts as changed."
    )
    min_area: float = Field(
        default=0.002,
        gt=0,
        le=1,
        description="Smallest moving region, as a fraction of the frame area.",
    )
    alpha: float = Field(
        default=0.05, gt=0, le=1, description="Background learning rate per analysed frame."
    )
    lighting_change: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="When this fraction of the frame changes at once it is a lighting change "
        "(lights, auto-exposure): the background is recalibrated, no motion is reported.",
    )
    end_after_s: float = Field(
        default=2.0, gt=0, le=300, description="Motion ends after this long without any."
    )


class CameraConfig(Section):
    """One camera: its inputs by role, analysis rate and motion gate."""

    name: str = Field(pattern=_NAME, description="Camera name, unique on this node.")
    detect: SourceConfig = Field(description="Input decoded for analysis (often a sub-stream).")
    record: SourceConfig | None = Field(
        default=None,
        description="Input whose encoded packets make clips (the main stream). Default: detect.",
    )
    fps: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Analysis rate: frames per second handed to motion and detection.",
    )
    private: bool = Field(
        default=False,
        description="A private room: this camera is never opened and shares nothing.",
    )
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion gate settings.")

    @model_validator(mode="after")
    def _record_defaults_to_detect(self) -> CameraConfig:
        if self.record is None:
            object.__setattr__(self, "record", self.detect)
        return self
