"""Replay a video file as a camera: mp4, avi, gif or a raw H.264 elementary stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import av

from edge.capture.base import SourceError
from edge.capture.frame import Frame, Image
from edge.logs import get_logger

log = get_logger(__name__)

DEFAULT_FPS = 25.0


class FileSource:
    """Decodes a file with FFmpeg (PyAV) and yields frames at no more than *analysis_fps*.

    Container metadata is not trusted: timestamps come from each frame's PTS, or from the
    frame index over *fps* when the stream has none (raw .h264).
    """

    def __init__(
        self,
        camera: str,
        path: str | Path,
        *,
        analysis_fps: float | None = None,
        fps: float | None = None,
        realtime: bool = False,
    ) -> None:
        self.camera = camera
        self.path = Path(path)
        self.analysis_fps = analysis_fps
        self.fps = fps
        self.realtime = realtime
        self.frames_decoded = 0
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop at the next frame."""
        self._closed.set()

    def frames(self) -> Iterator[Frame]:
        """Decoded BGR frames, subsampled to the analysis rate."""
        if not self.path.is_file():
            raise SourceError(f"camera {self.camera!r}: file not found: {self.path}")
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as e:
            raise SourceError(f"camera {self.camera!r}: cannot open {self.path}: {e}") from e
        with container:
            if not container.streams.video:
                raise SourceError(f"camera {self.camera!r}: {self.path} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            yield from self._decode(container, stream)

    def _decode(
        self, container: av.container.InputContainer, stream: av.VideoStream
    ) -> Iterator[Frame]:
        fallback_rate = self.fps or DEFAULT_FPS
        tb = stream.time_base
        step = 1.0 / self.analysis_fps if self.analysis_fps else 0.0
        next_due = 0.0
        seq = 0
        index = 0
        start_mono = time.monotonic()
        first_pts: float | None = None
        try:
            for vf in container.decode(stream):
                if self._closed.is_set():
                    return
                self.frames_decoded += 1
                if vf.pts is not None and tb is not None and self.fps is None:
                    pts = float(vf.pts * tb)
                else:
                    pts = index / fallback_rate
                index += 1
                if first_pts is None:
                    first_pts = pts
                pts -= first_pts
                if pts + 1e-6 < next_due:
                    continue
                next_due = next_due + step if next_due + step > pts else pts + step
                if self.realtime:
                    delay = start_mono + pts - time.monotonic()
                    if delay > 0 and self._closed.wait(delay):
                        return
                image = cast(Image, vf.to_ndarray(format="bgr24"))
                yield Frame(self.camera, seq, pts, time.monotonic(), time.time(), image)
                seq += 1
        except av.FFmpegError as e:
            # Truncated or corrupt data: end cleanly, say where.
            log.warning(
                "capture.file_error",
                camera=self.camera,
                path=str(self.path),
                frame=index,
                error=str(e),
            )
        log.info(
            "capture.file_end",
            camera=self.camera,
            path=str(self.path),
            decoded=self.frames_decoded,
            yielded=seq,
        )
