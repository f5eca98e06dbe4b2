"""Encode masked (or raw USB) frames to H.264 with libx264, for cameras whose own packets may
not or cannot be passed through. The output looks like any other record stream: a StreamInfo,
then Annex B packets with SPS/PPS before every keyframe."""

from __future__ import annotations

from fractions import Fraction

import av

from edge.capture.frame import Frame, Packet, StreamInfo


class FrameEncoder:
    """libx264, ultrafast/zerolatency, a keyframe every *keyframe_s* (never longer than the
    pre-roll, so a clip can always start in time)."""

    def __init__(self, camera: str, fps: float, keyframe_s: float = 1.0, crf: int = 23) -> None:
        self.camera = camera
        self.fps = fps
        self.keyint = max(1, round(fps * keyframe_s))
        self.crf = crf
        self._ctx: av.VideoCodecContext | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def _open(self, width: int, height: int) -> StreamInfo:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = width - width % 2, height - height % 2
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 1_000_000)
        ctx.framerate = Fraction(self.fps).limit_denominator(1000)
        ctx.options = {
            "threads": "1",  # one camera, one thread: many cameras share few cores
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(self.crf),
            "x264-params": f"keyint={self.keyint}:min-keyint={self.keyint}:scenecut=0:"
            "bframes=0:repeat-headers=1:annexb=1",
        }
        ctx.open()
        self._ctx = ctx
        self._size = (width, height)
        return StreamInfo(
            self.camera,
            "h264",
            ctx.width,
            ctx.height,
            Fraction(1, 1_000_000),
            self.fps,
            None,
            annexb=True,
        )

    def encode(self, frame: Frame) -> list[StreamInfo | Packet]:
        """Encode one frame; returns a StreamInfo first (and on a size change), then packets."""
        h, w = frame.image.shape[:2]
        out: list[StreamInfo | Packet] = []
        if self._size != (w, h):
            out.append(self._open(w, h))
        assert self._ctx is not None
        image = frame.image[: self._ctx.height, : self._ctx.width]
        # converted here, on this thread: FFmpeg's converter would add a thread per core
        vf = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p", threads=1)
        vf.pts = round(frame.pts * 1_000_000)
        self.frames += 1
        for pkt in self._ctx.encode(vf):
            pts = float(pkt.pts) / 1e6 if pkt.pts is not None else frame.pts
            out.append(
                Packet(
                    self.camera, bytes(pkt), pts, pts, bool(pkt.is_keyframe), frame.mono, frame.wall
                )
            )
        return out

    def close(self) -> None:
        """Drop the encoder (zerolatency holds nothing back worth flushing)."""
        self._ctx = None
        self._size = None
