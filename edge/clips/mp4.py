"""Write H.264 packets into an MP4 without decoding or encoding anything.

The output stream is created from a *template* stream that carries only the parameter sets:
an in-memory Annex B string holding SPS and PPS (no picture), opened with FFmpeg's raw h264
demuxer. No frame exists in it, so nothing can be decoded; the template's codec context is
never opened, so nothing is encoded. Packets go to the muxer as they are (MP4's muxer rewrites
Annex B start codes as length prefixes and builds ``avcC`` from the parameter sets).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
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


class ClipDiskError(ClipWriteError):
    """The disk refused the MP4 while it was written (full, read-only): the packets are
    fine, so the clip can be written again later from its journal."""


@dataclass(frozen=True)
class WrittenClip:
    """What was written."""

    path: Path
    packets: int
    duration_s: float
    bytes: int
    codec_opened: bool
    """Whether any codec (decoder or encoder) was opened for the output stream: never."""
    first_wall: float = 0.0
    """Wall-clock time of the first packet."""
    last_wall: float = 0.0
    """Wall-clock time of the last packet."""


def _template(info: StreamInfo, first: Packet) -> av.VideoStream:
    ps = parameter_sets(info.extradata or b"") or parameter_sets(first.data)
    if not ps:
        raise ClipWriteError(f"camera {info.camera!r}: no SPS/PPS in the stream to remux from")
    container = av.open(io.BytesIO(ps), format="h264")
    return container.streams.video[0]


@dataclass
class _Timing:
    """What the first pass over a clip's packets learns: the first packet, the earliest
    timestamp (the clip's zero), the pts span, the count and the wall-clock ends."""

    first: Packet
    base: float
    min_pts: float
    max_pts: float
    count: int
    last_wall: float


def _timing(info: StreamInfo, packets: Iterable[Packet]) -> _Timing:
    t: _Timing | None = None
    for p in packets:
        ts = p.dts if p.dts is not None else p.pts
        if t is None:
            t = _Timing(p, ts, p.pts, p.pts, 0, p.wall)
        t.base, t.min_pts, t.max_pts = min(t.base, ts), min(t.min_pts, p.pts), max(t.max_pts, p.pts)
        t.count += 1
        t.last_wall = p.wall
    if t is None or not t.first.keyframe:
        raise ClipWriteError(f"camera {info.camera!r}: a clip must start at a keyframe")
    return t


def write_mp4(path: Path, info: StreamInfo, packets: Iterable[Packet]) -> WrittenClip:
    """Remux *packets* (starting at a keyframe) into an MP4 at *path*. *packets* is gone
    through twice (timing, then muxing) and never held whole: a list, or a
    :class:`edge.clips.journal_stream.JournalStream` read as it goes. The MP4 is written as
    ``PATH.part`` and renamed when complete; when writing fails (a full disk) the part is
    removed and the error says which clip and file."""
    if info.codec != "h264":
        raise ClipWriteError(f"camera {info.camera!r}: cannot remux {info.codec}, only h264")
    t = _timing(info, packets)
    template = _template(info, t.first)
    fps = info.fps or 25.0
    tmp = path.with_suffix(".part")
    try:
        opened = _mux(tmp, info, template, packets, base=t.base, fps=fps)
        tmp.replace(path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ClipDiskError(f"camera {info.camera!r}: cannot write {path}: {e}") from e
        raise
    span = t.max_pts - t.min_pts + 1 / fps
    return WrittenClip(path, t.count, round(span, 3), path.stat().st_size, opened,
                       t.first.wall, t.last_wall)  # fmt: skip


def _mux(
    tmp: Path,
    info: StreamInfo,
    template: av.VideoStream,
    packets: Iterable[Packet],
    *,
    base: float,
    fps: float,
) -> bool:
    """Mux *packets* into *tmp*; whether any codec was opened (never)."""
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
        return bool(ctx is not None and ctx.is_open) or template.codec_context.is_open
