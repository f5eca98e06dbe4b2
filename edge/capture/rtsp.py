"""IP cameras over RTSP (TCP) or HTTP, read with FFmpeg through PyAV."""

from __future__ import annotations

import av

from edge.capture.frame import Role
from edge.capture.privacy import MaskSpec
from edge.capture.pyav import PyAvInput
from edge.capture.redact import redact


class RtspInput(PyAvInput):
    """A network stream. TCP transport (no UDP loss on busy site networks), an open timeout
    and a read timeout so a frozen camera ends the session instead of hanging it."""

    live = True
    endless = True

    def __init__(
        self,
        camera: str,
        url: str,
        *,
        roles: Role = Role.DETECT,
        analysis_fps: float | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        mask: MaskSpec | None = None,
    ) -> None:
        super().__init__(camera, roles=roles, analysis_fps=analysis_fps, mask=mask)
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s

    def _describe(self) -> str:
        return redact(self.url)

    def options(self) -> dict[str, str]:
        """FFmpeg options for this stream."""
        opts = {"analyzeduration": "500000", "probesize": "500000", "fflags": "nobuffer"}
        if self.url.startswith(("rtsp://", "rtsps://")):
            opts["rtsp_transport"] = "tcp"
        return opts

    def _open(self) -> av.container.InputContainer:
        return av.open(
            self.url, options=self.options(), timeout=(self.open_timeout_s, self.read_timeout_s)
        )
