"""Replay a video file as a camera: mp4, avi, gif or a raw H.264 elementary stream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av

from edge.capture.base import SourceError
from edge.capture.frame import Item, Role
from edge.capture.privacy import MaskSpec
from edge.capture.pyav import PyAvInput


class FileInput(PyAvInput):
    """A file replayed through FFmpeg. Container metadata is not trusted: timestamps come
    from each frame's PTS, or from the frame index over *fps* when the stream has none (raw
    .h264: pass ``fps``, else 25 is assumed)."""

    def __init__(
        self,
        camera: str,
        path: str | Path,
        *,
        roles: Role = Role.DETECT,
        analysis_fps: float | None = None,
        fps: float | None = None,
        realtime: bool = False,
        loop: bool = False,
        mask: MaskSpec | None = None,
    ) -> None:
        super().__init__(camera, roles=roles, analysis_fps=analysis_fps, fps=fps, mask=mask)
        self.path = Path(path)
        self.realtime = realtime
        self.loop = loop
        self.live = realtime  # paced like a camera: drop analysis frames when behind
        self.endless = False  # a file ends (looping is done here, not by reconnecting)
        if fps is None and self.path.suffix.lower() in {".h264", ".264", ".h265", ".265"}:
            self.fps = 25.0  # elementary streams carry no timing; say so in config if wrong

    def _describe(self) -> str:
        return str(self.path)

    def _open(self) -> av.container.InputContainer:
        if not self.path.is_file():
            raise SourceError(f"camera {self.camera!r}: file not found: {self.path}")
        return av.open(str(self.path))

    def _pace(self, pts: float, start_mono: float) -> bool:
        if self.realtime:
            delay = start_mono + pts - time.monotonic()
            if delay > 0:
                return not self._closed.wait(delay)
        return not self._closed.is_set()

    def stream(self) -> Iterator[Item]:
        """Play the file (again and again with ``loop``)."""
        while True:
            yield from super().stream()
            if not self.loop or self._closed.is_set():
                return
