"""USB (UVC) cameras through Video4Linux2, read with FFmpeg's v4l2 demuxer.

What the device and the kernel answer (no such device, permission denied, busy, not a V4L2
device, a mode the camera refuses, unplugged mid-stream) is translated into a
:class:`~edge.capture.hwerrors.HardwareError` naming the camera, the device and what to do."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import av

from edge.capture.base import Failure, SourceError
from edge.capture.frame import Item, Role
from edge.capture.hwerrors import (
    HardwareError,
    camera_key,
    v4l2_not_a_device,
    v4l2_open_error,
    v4l2_read_error,
)
from edge.capture.privacy import MaskSpec
from edge.capture.pyav import PyAvInput
from edge.config.cameras import V4l2SourceConfig
from edge.core.logs import get_logger

log = get_logger(__name__)


class V4l2Input(PyAvInput):
    """A V4L2 device. Raw (YUYV) and MJPEG frames are not H.264, so its record role yields
    frames for the clip stage to encode; an H.264-capable UVC camera passes packets."""

    live = True
    endless = True

    def __init__(
        self,
        camera: str,
        cfg: V4l2SourceConfig,
        *,
        roles: Role = Role.DETECT,
        analysis_fps: float | None = None,
        mask: MaskSpec | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(camera, roles=roles, analysis_fps=analysis_fps, mask=mask)
        self.cfg = cfg
        self.key = key or camera_key(camera)
        """How errors name this camera (``camera 'usb' (cameras[1])``)."""

    def _describe(self) -> str:
        return self.cfg.device

    def options(self) -> dict[str, str]:
        """FFmpeg v4l2 demuxer options from the config."""
        return {
            "video_size": f"{self.cfg.width}x{self.cfg.height}",
            "framerate": str(self.cfg.fps),
            "input_format": self.cfg.input_format,
        }

    def mode(self) -> str:
        """The mode asked of the camera, as errors name it."""
        c = self.cfg
        return f"{c.width}x{c.height} at {c.fps} fps in {c.input_format}"

    def stream(self) -> Iterator[Item]:
        """As :meth:`PyAvInput.stream`; a device that fails mid-stream raises a
        :class:`HardwareError` (``read_failed``) saying so."""
        try:
            yield from super().stream()
        except HardwareError:
            raise
        except SourceError as e:
            cause = e.__context__  # the FFmpeg error, kept as context by the decode loop
            if isinstance(cause, OSError | av.FFmpegError) and e.reason is Failure.READ:
                raise v4l2_read_error(self.key, self.cfg.device, cause, self.packets_read) from e
            raise

    def _open(self) -> av.container.InputContainer:
        dev = self.cfg.device
        try:
            mode = os.stat(dev).st_mode
        except OSError as e:
            raise v4l2_open_error(self.key, dev, e, self.mode()) from e
        if not stat.S_ISCHR(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a regular file"
            if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
                what = "not a character device"
            raise v4l2_not_a_device(self.key, dev, what)
        try:
            container = self._device()
        except (av.FFmpegError, OSError) as e:
            raise v4l2_open_error(self.key, dev, e, self.mode()) from e
        self._check_size(container)
        return container

    def _device(self) -> av.container.InputContainer:
        """FFmpeg's v4l2 demuxer on the device."""
        return av.open(self.cfg.device, format="v4l2", options=self.options(), timeout=(5.0, 5.0))

    def _check_size(self, container: av.container.InputContainer) -> None:
        """A size the camera lacks is not refused: the driver picks its nearest and FFmpeg
        goes on with it. Say so once per session, since masks and capacity assume the size
        configured."""
        video = container.streams.video
        c = self.cfg
        if not video:
            return  # the decode loop says so
        ctx = video[0].codec_context
        if (ctx.width, ctx.height) == (c.width, c.height):
            return
        log.warning(
            "capture.v4l2_size_changed",
            camera=self.camera,
            key=self.key,
            device=c.device,
            asked=f"{c.width}x{c.height}",
            got=f"{ctx.width}x{ctx.height}",
            hint=f"the camera has no {c.width}x{c.height} mode: list its modes with v4l2-ctl "
            f"-d {c.device} --list-formats-ext and set width and height to one",
        )
