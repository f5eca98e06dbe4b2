"""Cameras: where frames come from, at what analysis rate, and how motion is gated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from edge.config.base import MAX_PIXELS, MIN_PIXELS, Outline, Section
from edge.config.detection import CameraDetectionConfig, ZoneConfig
from edge.core.redact import redact_url

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

    @field_validator("url")
    @classmethod
    def _host_and_port(cls, url: str) -> str:
        """A URL FFmpeg could never open (no host, a port beyond 65535) would only fail at
        every reconnect. The error shows the URL with its credentials hidden."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"no host in {redact_url(url)}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= 65535:
            shown = parts.netloc.rpartition(":")[2]
            raise ValueError(f"port {shown} is not a TCP port (1-65535) in {redact_url(url)}")
        return url


class V4l2SourceConfig(Section):
    """A USB (UVC) camera read through Video4Linux2."""

    kind: Literal["v4l2"] = Field(description="Source type: a USB/V4L2 camera.")
    device: str = Field(
        pattern=r"^/dev/(video[0-9]+|v4l/by-(id|path)/[^\s]+)$",
        description="Device node, e.g. /dev/video0 or a stable /dev/v4l/by-id/... link.",
    )
    width: int = Field(default=1280, ge=160, le=3840, description="Capture width in pixels.")
    height: int = Field(default=720, ge=120, le=2160, description="Capture height in pixels.")
    fps: int = Field(default=15, ge=1, le=60, description="Capture frame rate.")
    input_format: Literal["mjpeg", "yuyv422", "h264"] = Field(
        default="mjpeg", description="Pixel format asked of the camera."
    )


class PicameraSourceConfig(Section):
    """The Raspberry Pi camera through picamera2: the lores stream is analysed, the hardware
    H.264 encoder's output of the main stream makes clips."""

    kind: Literal["picamera"] = Field(description="Source type: a Raspberry Pi camera.")
    camera_num: int = Field(default=0, ge=0, le=7, description="Camera index (CSI port).")
    width: int = Field(default=1920, ge=320, le=4608, description="Main (record) stream width.")
    height: int = Field(default=1080, ge=240, le=2592, description="Main (record) stream height.")
    lores_width: int = Field(
        default=640, ge=64, le=1920, description="Low-resolution (detect) stream width."
    )
    lores_height: int = Field(
        default=360, ge=64, le=1080, description="Low-resolution (detect) stream height."
    )
    fps: float = Field(default=15.0, gt=0, le=120, description="Sensor frame rate.")
    bitrate: int = Field(
        default=4_000_000, ge=100_000, le=25_000_000, description="H.264 bitrate (bits/s)."
    )
    keyframe_interval: int = Field(
        default=30,
        ge=1,
        le=600,
        description="Frames between H.264 keyframes; keep it at most the pre-roll, since clips "
        "start on a keyframe.",
    )

    @model_validator(mode="after")
    def _lores_smaller(self) -> PicameraSourceConfig:
        if self.lores_width > self.width or self.lores_height > self.height:
            raise ValueError("lores_width/lores_height must not exceed width/height")
        return self


class JetsonSourceConfig(Section):
    """A CSI camera on an NVIDIA Jetson, read through a GStreamer pipeline in OpenCV."""

    kind: Literal["jetson"] = Field(description="Source type: a Jetson CSI camera.")
    sensor_id: int = Field(default=0, ge=0, le=7, description="nvarguscamerasrc sensor-id.")
    width: int = Field(default=1920, ge=320, le=4096, description="Sensor mode width.")
    height: int = Field(default=1080, ge=240, le=3040, description="Sensor mode height.")
    fps: int = Field(default=30, ge=1, le=120, description="Sensor mode frame rate.")
    out_width: int = Field(
        default=960, ge=64, le=4096, description="Width of the frames handed to OpenCV."
    )
    out_height: int = Field(
        default=540, ge=64, le=3040, description="Height of the frames handed to OpenCV."
    )
    flip_method: int = Field(
        default=0, ge=0, le=7, description="nvvidconv flip-method (0 none, 2 rotate 180, ...)."
    )


SourceConfig = Annotated[
    FileSourceConfig
    | RtspSourceConfig
    | V4l2SourceConfig
    | PicameraSourceConfig
    | JetsonSourceConfig,
    Field(discriminator="kind"),
]


class PrivacyMaskConfig(Outline):
    """A polygon blacked out in every decoded frame of its camera, before anything sees it."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$",
        description="What it hides, e.g. 'commissioners office door' (appears in audits).",
    )


class MotionMaskConfig(Outline):
    """An area whose changes are not motion (a clock, a screen, trees behind a window)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$", description="What it ignores.")


class MotionConfig(Section):
    """The motion gate: cheap per-frame analysis that decides when to look closer.

    Per pixel, a change counts when above ``min(threshold, max(min_threshold, contrast *
    scene mean, noise_factor * pixel noise))``: 25 grey levels by day, a grey level or two in
    a dark room, more where the picture is noisy."""

    width: int = Field(
        default=320, ge=64, le=1920, description="Frames are downscaled to this width first."
    )
    threshold: int = Field(
        default=25,
        ge=1,
        le=255,
        description="Grey-level difference that counts as changed in a well-lit scene: the "
        "largest per-pixel threshold. Darker scenes use a lower one (contrast, noise_factor).",
    )
    contrast: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Below 'threshold', a change of this fraction of the scene's mean grey "
        "counts (0.2: 20%, as 25 grey levels are at a mean of 125).",
    )
    noise_factor: float = Field(
        default=4.0,
        ge=1,
        le=50,
        description="A pixel's threshold is at least this many times its learned noise (mean "
        "absolute difference from the background while nothing moves there).",
    )
    noise_rate: float = Field(
        default=0.02, gt=0, le=1, description="Learning rate of the per-pixel noise per frame."
    )
    min_threshold: float = Field(
        default=1.5,
        ge=0.1,
        le=255,
        description="Smallest per-pixel threshold in grey levels (a near-black, noiseless "
        "view); at most 'threshold'.",
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
    ignore: list[MotionMaskConfig] = Field(
        default_factory=list,
        max_length=32,
        description="Areas whose changes never count as motion (needs the camera's "
        "resolution). Unlike privacy masks they hide nothing.",
    )

    @model_validator(mode="after")
    def _thresholds(self) -> MotionConfig:
        if self.min_threshold > self.threshold:
            raise ValueError("min_threshold must not exceed threshold")
        return self


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
    privacy_masks: list[PrivacyMaskConfig] = Field(
        default_factory=list,
        max_length=32,
        description="Areas never shared: blacked out at the source in every frame, and the "
        "camera's clips are re-encoded from masked frames, never passed through.",
    )
    resolution: list[Annotated[int, Field(ge=MIN_PIXELS, le=MAX_PIXELS)]] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[width, height] that privacy mask and zone points refer to; required with "
        "either. Streams of the same aspect ratio get them scaled; a stream of another shape "
        "means the camera shares nothing.",
    )
    fault_after_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Raise camera_fault when no frame has come for this long.",
    )
    reconnect_max_s: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="Longest wait between reconnect attempts (jittered exponential backoff).",
    )
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion gate settings.")
    detection: CameraDetectionConfig = Field(
        default_factory=CameraDetectionConfig, description="Person detection on this camera."
    )
    zones: list[ZoneConfig] = Field(
        default_factory=list, max_length=32, description="Named areas of this camera's view."
    )

    @model_validator(mode="after")
    def _record_defaults_to_detect(self) -> CameraConfig:
        if self.record is None:
            object.__setattr__(self, "record", self.detect)
        if (self.privacy_masks or self.zones or self.motion.ignore) and self.resolution is None:
            raise ValueError("resolution is required with privacy_masks, zones or motion.ignore")
        return self

    @model_validator(mode="after")
    def _outlines_inside_the_frame(self) -> CameraConfig:
        """Zone and motion.ignore corners lie in the frame that ``resolution`` describes: a
        corner beyond it means the outline was drawn for another resolution (privacy masks
        may reach past the edge: hiding more is the safe side)."""
        if self.resolution is None:
            return self
        width, height = self.resolution
        outlines: list[tuple[str, Sequence[Sequence[float]]]] = [
            (f"zones[{i}]", z.points) for i, z in enumerate(self.zones)
        ]
        outlines += [(f"motion.ignore[{i}]", m.points) for i, m in enumerate(self.motion.ignore)]
        for where, points in outlines:
            for j, (x, y) in enumerate(points):
                if not (0 <= x <= width and 0 <= y <= height):
                    raise ValueError(
                        f"{where}.points[{j}]: [{x:g}, {y:g}] is outside the {width}x{height} "
                        f"frame of resolution (x 0-{width}, y 0-{height}): draw it on a "
                        "frame of that size, or correct resolution"
                    )
        return self
