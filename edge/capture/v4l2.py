"""USB (UVC) cameras through Video4Linux2, read with FFmpeg's v4l2 demuxer."""

from __future__ import annotations

from pathlib import Path

import av

from edge.capture.base import SourceError
from edge.capture.frame import Role
from edge.capture.privacy import MaskSpec
from edge.capture.pyav import PyAvInput
from edge.config.cameras import V4l2SourceConfig


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
    ) -> None:
        super().__init__(camera, roles=roles, analysis_fps=analysis_fps, mask=mask)
        self.cfg = cfg

    def _describe(self) -> str:
        return self.cfg.device

    def options(self) -> dict[str, str]:
        """FFmpeg v4l2 demuxer options from the config."""
        return {
            "video_size": f"{self.cfg.width}x{self.cfg.height}",
            "framerate": str(self.cfg.fps),
            "input_format": self.cfg.input_format,
        }

    def _open(self) -> av.container.InputContainer:
        dev = Path(self.cfg.device)
        if not dev.exists():
            raise SourceError(f"camera {self.camera!r}: no such device {dev} (unplugged?)")
        return av.open(str(dev), format="v4l2", options=self.options(), timeout=(5.0, 5.0))
