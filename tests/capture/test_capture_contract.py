"""One contract for every camera input: the file input, the fake picamera2 behind the real
picamera2 adapter, and a real RTSP stream from a real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import RtspServer

from edge.capture.base import CameraInput
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Item, Packet, Role, StreamInfo
from edge.capture.picamera import PiCameraInput
from edge.capture.rtsp import RtspInput
from edge.config.cameras import PicameraSourceConfig
from edge.fakes.picamera2 import fake_picamera2

VIDEO = "one-by-one-person-detection.mp4"
Maker = Callable[[Role], CameraInput]


@pytest.fixture(params=["file", "picamera2-fake", "rtsp"])
def make_input(
    request: pytest.FixtureRequest, videos: Path, rtsp_server: Callable[[Path], RtspServer]
) -> Maker:
    """A factory of one kind of input over the same sample video."""
    kind = request.param
    if kind == "file":
        return lambda roles: FileInput(
            "cam", videos / VIDEO, roles=roles, analysis_fps=5, realtime=True
        )
    if kind == "picamera2-fake":
        module = fake_picamera2(videos / VIDEO)
        cfg = PicameraSourceConfig(
            kind="picamera",
            width=768,
            height=432,
            lores_width=384,
            lores_height=216,
            fps=10,
            keyframe_interval=10,
        )
        return lambda roles: PiCameraInput("cam", cfg, roles=roles, analysis_fps=5, module=module)
    url = rtsp_server(videos / VIDEO).url
    return lambda roles: RtspInput("cam", url, roles=roles, analysis_fps=5)


def _collect(inp: CameraInput, seconds: float) -> list[Item]:
    timer = threading.Timer(seconds, inp.close)
    timer.start()
    try:
        return list(_until_closed(inp.stream()))
    finally:
        timer.cancel()


def _collect_until(inp: CameraInput, enough: Callable[[list[Item]], bool]) -> list[Item]:
    """Items until *enough* says so (then the input is closed), within a 30 s deadline: the
    count is what the contract promises, however loaded the machine is."""
    items: list[Item] = []
    deadline = time.monotonic() + 30
    try:
        for item in inp.stream():
            items.append(item)
            if enough(items):
                break
            assert time.monotonic() < deadline, f"only {len(items)} items in 30 s"
    finally:
        inp.close()
    return items


def _until_closed(it: Iterator[Item]) -> Iterator[Item]:
    deadline = time.monotonic() + 30
    for item in it:
        yield item
        assert time.monotonic() < deadline, "close() did not end the stream"


def test_detect_frames(make_input: Maker) -> None:
    """DETECT: BGR frames of this camera at about the analysis rate, seq counting up,
    stream and capture times rising, wall clock now."""
    items = _collect_until(make_input(Role.DETECT), lambda got: len(got) >= 8)
    frames = [i for i in items if isinstance(i, Frame)]
    assert all(isinstance(i, Frame) for i in items)  # no packets were asked for
    assert len(frames) == 8
    assert [f.seq for f in frames] == list(range(len(frames)))
    # never faster than real time at 5 fps: 7 intervals of 0.2 s (half of it as margin)
    assert frames[-1].mono - frames[0].mono >= 7 * 0.2 * 0.5
    assert all(f.camera == "cam" and Role.DETECT in f.roles for f in frames)
    assert all(b.pts - a.pts >= 0.19 for a, b in pairwise(frames))
    assert all(b.mono >= a.mono for a, b in pairwise(frames))
    assert abs(frames[-1].wall - time.time()) < 5
    img = frames[0].image
    assert img.dtype.name == "uint8" and img.ndim == 3 and img.shape[2] == 3
    assert img.std() > 5  # a picture, not a blank buffer


def test_record_packets(make_input: Maker) -> None:
    """RECORD: a StreamInfo first, then H.264 packets from a keyframe, in time order, with
    no decoded frames at all."""
    items = _collect_until(
        make_input(Role.RECORD),
        lambda got: sum(1 for i in got if isinstance(i, Packet) and i.keyframe) >= 2,
    )
    assert isinstance(items[0], StreamInfo) and items[0].codec == "h264"
    packets = [i for i in items if isinstance(i, Packet)]
    assert len(packets) == len(items) - 1 >= 2
    assert packets[0].keyframe and any(p.keyframe for p in packets[1:])
    assert all(p.data for p in packets)
    order = [p.dts if p.dts is not None else p.pts for p in packets]  # decode order
    assert all(b >= a for a, b in pairwise(order))


def test_close_ends_the_stream_promptly(make_input: Maker) -> None:
    """close() from another thread ends stream() within a couple of seconds."""
    inp = make_input(Role.DETECT | Role.RECORD)
    started = time.monotonic()
    _collect(inp, 1.0)
    assert time.monotonic() - started < 8
