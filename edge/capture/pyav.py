"""The decode/demux loop shared by every input FFmpeg can open (files, RTSP, V4L2).

One loop per session (each opening of the input, numbered from 1 in ``Frame.session`` and
logged as ``camera.connected``; stream time restarts at 0 with each): demux packets; pass them
on for the record role (unless the camera is masked); decode only what is needed; convert to
BGR only frames that someone will look at; black out privacy masks before any frame leaves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from typing import Any, cast

import av
from av.bitstream import BitStreamFilterContext

from edge.capture.base import Failure, SourceError
from edge.capture.frame import Frame, Image, Item, Packet, Role, StreamInfo
from edge.capture.h264 import avcc_to_annexb
from edge.capture.privacy import MaskSpec, PrivacyFilter
from edge.capture.redact import redact
from edge.capture.session import log_connected
from edge.capture.timing import Sampler, Timeline, UnusedFrames
from edge.core.logs import get_logger

log = get_logger(__name__)

#: Consecutive undecodable packets after which a session is abandoned.
MAX_CORRUPT_RUN = 50


class PyAvInput:
    """Base of FFmpeg-backed inputs; subclasses say how to open the container."""

    live = False
    endless = True

    def __init__(
        self,
        camera: str,
        *,
        roles: Role = Role.DETECT,
        analysis_fps: float | None = None,
        fps: float | None = None,
        mask: MaskSpec | None = None,
    ) -> None:
        self.camera = camera
        self.roles = roles
        self.analysis_fps = analysis_fps
        self.fps = fps
        self.mask = mask
        self._filter = PrivacyFilter(mask) if mask is not None else None  # validates now
        self.frames_decoded = 0
        self.packets_read = 0
        self.corrupt_packets = 0
        self._corrupt_run = 0
        self.session = 0
        """The current (last) session's number; 0 before the first."""
        self._closed = threading.Event()

    # -- subclass hooks ---------------------------------------------------------------------

    def _open(self) -> av.container.InputContainer:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    def _pace(self, pts: float, start_mono: float) -> bool:
        """Wait until *pts* is due (replay in real time); False when closed meanwhile."""
        return not self._closed.is_set()

    # -- public -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop at the next packet."""
        self._closed.set()

    def stream(self) -> Iterator[Item]:
        """Open and run one session. Raises :class:`SourceError`: ``open_failed`` when the
        input cannot be reached, ``decode_failed`` when what it holds is not decodable video,
        ``read_failed`` when it stops answering."""
        self._closed.clear()
        try:
            container = self._open()
        except (av.FFmpegError, OSError) as e:
            # FFmpeg's exception holds the URL in clear (its filename): never chained
            reason = Failure.DECODE if isinstance(e, av.error.InvalidDataError) else Failure.OPEN
            raise SourceError(
                f"camera {self.camera!r}: cannot open {self._describe()}: {_text(e)}", reason
            ) from None
        with container:
            if not container.streams.video:
                raise SourceError(
                    f"camera {self.camera!r}: {self._describe()} has no video", Failure.DECODE
                )
            stream = container.streams.video[0]
            self.session += 1
            self._connected(stream)
            # No frame threading: it adds latency and CPU per frame; a node runs several
            # cameras on few cores, so one decoding thread per camera is the better trade,
            # and FFmpeg's default (a thread per core and codec) would pass the unit's TasksMax
            stream.codec_context.thread_count = 1
            yield from self._session(container, stream)

    # -- the loop ---------------------------------------------------------------------------

    def _session(  # noqa: PLR0912, PLR0915 - the per-packet hot loop is kept in one place
        self, container: av.container.InputContainer, stream: av.VideoStream
    ) -> Iterator[Item]:
        record = Role.RECORD in self.roles
        want_packets = record and self._filter is None and stream.codec_context.name == "h264"
        record_frames = record and not want_packets  # masked, or not H.264: encode later
        want_detect = Role.DETECT in self.roles
        rate = self.fps or (float(stream.average_rate) if stream.average_rate else None)
        tb = Fraction(stream.time_base) if stream.time_base is not None else None
        clock = Timeline(tb, rate, trust_pts=self.fps is None)
        sampler = Sampler(self.analysis_fps)
        seq = index = 0
        keyed = False
        start_mono = time.monotonic()
        to_annexb = None
        # frames nobody looks at and no other frame refers to are not decoded at all
        unused = UnusedFrames(stream.codec_context, clock, sampler, on=not record_frames)
        if want_packets:
            info = _stream_info(self.camera, stream, tb, rate)
            if stream.codec_context.extradata and not info.annexb:
                # MP4-style (length-prefixed) packets: rewrite as Annex B with the parameter
                # sets in front of keyframes, so every record stream looks the same downstream
                to_annexb = BitStreamFilterContext("h264_mp4toannexb", stream)
                info = replace(info, extradata=avcc_to_annexb(info.extradata or b""), annexb=True)
            yield info
        try:
            for n, packet in enumerate(container.demux(stream)):
                if self._closed.is_set():
                    return
                flush = packet.size == 0  # end of stream: decode what the decoder holds
                unused.before(packet.pts, flush)
                # decode before the bitstream filter: filtering takes the packet's data
                decoded = self._decode(packet) if want_detect or record_frames else []
                if not flush:
                    self.packets_read += 1
                    if want_packets and (keyed or packet.is_keyframe):
                        keyed = True  # a clip can only start at a keyframe: drop what precedes
                        for out in to_annexb.filter(packet) if to_annexb else (packet,):
                            item = self._packet(out, clock, n)
                            if not self._pace(item.pts, start_mono):
                                return
                            yield item
                for vf in decoded:
                    self.frames_decoded += 1
                    pts = clock.at(vf.pts, index)
                    index += 1
                    roles = Role.RECORD if record_frames else Role(0)
                    if want_detect and sampler.due(pts):
                        roles |= Role.DETECT
                    if not roles:
                        continue  # decoded for reference only: never converted
                    if not self._pace(pts, start_mono):
                        return
                    image = cast(Image, vf.to_ndarray(format="bgr24", threads=1))
                    if self._filter is not None:
                        self._filter.apply(image)  # raises PrivacyError: nothing leaves
                    yield Frame(
                        self.camera,
                        seq,
                        pts,
                        time.monotonic(),
                        time.time(),
                        image,
                        roles,
                        self.session,
                    )
                    seq += 1
            if seq == 0 and not keyed and not self._closed.is_set():
                # it opened, but nothing in it could be decoded (a truncated file, a stub)
                raise SourceError(
                    f"camera {self.camera!r}: {self._describe()}: no frame could be decoded "
                    f"({self.packets_read} packets read, {self.frames_decoded} frames decoded)",
                    Failure.DECODE,
                )
        except av.FFmpegError as e:
            # Truncated or corrupt data, or a stream that stopped answering: end this session.
            raise SourceError(
                f"camera {self.camera!r}: {self._describe()}: read failed after "
                f"{self.packets_read} packets: {_text(e)}",
                Failure.DECODE if isinstance(e, av.error.InvalidDataError) else Failure.READ,
            ) from None
        finally:
            log.info(
                "capture.session_end",
                camera=self.camera,
                source=self._describe(),
                packets=self.packets_read,
                decoded=self.frames_decoded,
                yielded=seq,
                unused_skipped=unused.skipped_packets,
                session=self.session,
                corrupt=self.corrupt_packets,
            )

    def _connected(self, stream: av.VideoStream) -> None:
        ctx = stream.codec_context
        log_connected(
            self.camera,
            self.roles,
            session=self.session,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            fps=self.fps or (float(stream.average_rate) if stream.average_rate else None),
            source=self._describe(),
        )

    def _packet(self, packet: Any, clock: Timeline, n: int) -> Packet:
        pts = clock.at(packet.pts, n)
        dts = None
        if clock.trust_pts and packet.dts is not None:
            dts = pts + clock.raw(packet.dts, n) - clock.raw(packet.pts, n)
        return Packet(
            self.camera,
            bytes(packet),
            pts,
            dts,
            bool(packet.is_keyframe),
            time.monotonic(),
            time.time(),
        )

    def _decode(self, packet: Any) -> list[av.VideoFrame]:
        """Decode one packet; a corrupt one is skipped (counted), a run of them ends the
        session."""
        try:
            frames: list[av.VideoFrame] = packet.decode()
        except av.error.InvalidDataError as e:
            self.corrupt_packets += 1
            self._corrupt_run += 1
            log.warning(
                "capture.corrupt_packet",
                camera=self.camera,
                source=self._describe(),
                packet=self.packets_read,
                error=_text(e),
            )
            if self._corrupt_run >= MAX_CORRUPT_RUN:
                raise SourceError(
                    f"camera {self.camera!r}: {self._describe()}: {self._corrupt_run} "
                    f"undecodable packets in a row: {_text(e)}",
                    Failure.DECODE,
                ) from None
            return []
        self._corrupt_run = 0
        return frames


def _text(e: BaseException) -> str:
    """An FFmpeg error as text for logs and faults: its type and message, credentials out."""
    return redact(f"{type(e).__name__}: {e}")


def _stream_info(
    camera: str, stream: av.VideoStream, tb: Fraction | None, rate: float | None
) -> StreamInfo:
    ctx = stream.codec_context
    extradata = bytes(ctx.extradata) if ctx.extradata else None
    return StreamInfo(
        camera=camera,
        codec=ctx.name,
        width=ctx.width,
        height=ctx.height,
        time_base=tb or Fraction(1, 90000),
        fps=rate,
        extradata=extradata,
        annexb=extradata is None or extradata[:1] != b"\x01",
    )
