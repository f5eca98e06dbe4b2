"""Write H.264 packets into an MP4 without decoding or encoding anything.

The output stream is created from a *template* stream that carries only the parameter sets:
an in-memory Annex B string holding SPS and PPS (no picture), opened with FFmpeg's raw h264
demuxer. No frame exists in it, so nothing can be decoded; the template's codec context is
never opened, so nothing is encoded. Packets go to the muxer as they are (MP4's muxer rewrites
Annex B start codes as length prefixes and builds ``avcC`` from the parameter sets).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from edge.capture.frame import Packet, StreamInfo
from edge.capture.h264 import parameter_sets
from edge.core.errors import ClipError

TIME_BASE = Fraction(1, 90_000)


class ClipWriteError(ClipError):
    """Packets that cannot make an MP4 (no keyframe, no parameter sets)."""


@dataclass(frozen=True)
class WrittenClip:
    """What was written."""

    path: Path
    packets: int
    duration_s: float
    bytes: int
    codec_opened: bool
    """Whether any codec (decoder or encoder) was opened for the output stream: never."""


def _template(info: StreamInfo, packets: Sequence[Packet]) -> av.VideoStream:
    ps = parameter_sets(info.extradata or b"") or parameter_sets(packets[0].data)
    if not ps:
        raise ClipWriteError(f"camera {info.camera!r}: no SPS/PPS in the stream to remux from")
    container = av.open(io.BytesIO(ps), format="h264")
    return container.streams.video[0]


def write_mp4(path: Path, info: StreamInfo, packets: Sequence[Packet]) -> WrittenClip:
    """Remux *packets* (starting at a keyframe) into an MP4 at *path*."""
    if not packets or not packets[0].keyframe:
        raise ClipWriteError(f"camera {info.camera!r}: a clip must start at a keyframe")
    if info.codec != "h264":
        raise ClipWriteError(f"camera {info.camera!r}: cannot remux {info.codec}, only h264")
    template = _template(info, packets)
    base = min(p.dts if p.dts is not None else p.pts for p in packets)
    fps = info.fps or 25.0
    tmp = path.with_suffix(".part")
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream_from_template(template, width=info.width, height=info.height)
        stream.time_base = TIME_BASE
        last_dts = -1
        for p in packets:
            pkt = av.Packet(p.data)
            pts = round((p.pts - base) / TIME_BASE)
            dts = round(((p.dts if p.dts is not None else p.pts) - base) / TIME_BASE)
            dts = max(dts, last_dts + 1)  # the muxer needs strictly rising dts
            pkt.pts, pkt.dts = max(pts, dts), dts
            pkt.time_base = TIME_BASE
            pkt.duration = round(1 / fps / TIME_BASE)
            pkt.is_keyframe = p.keyframe
            pkt.stream = stream
            out.mux(pkt)
            last_dts = dts
        ctx = stream.codec_context
        opened = bool(ctx is not None and ctx.is_open) or template.codec_context.is_open
    tmp.replace(path)
    span = max(p.pts for p in packets) - min(p.pts for p in packets) + 1 / fps
    return WrittenClip(path, len(packets), round(span, 3), path.stat().st_size, opened)
