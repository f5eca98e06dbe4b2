"""Outages and back-pressure: a real RTSP camera dies and comes back without a restart; a slow
analyser drops analysis frames but never holds back the record role."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RtspServer
from rtspcam import Events, rtsp_camera

from edge.analysis.motion.base import MotionResult
from edge.capture.frame import Frame, Item, Packet, Role
from edge.capture.liveness import Liveness
from edge.capture.picamera import PiCameraInput
from edge.capture.rtsp import RtspInput
from edge.config.cameras import PicameraSourceConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.fakes.picamera2 import fake_picamera2
from edge.node.camera import CameraWorker


@pytest.mark.slow
def test_rtsp_camera_dies_and_comes_back(
    videos: Path, rtsp_server: Callable[[Path], RtspServer]
) -> None:
    """Server killed: camera_fault within fault_after_s (+1 s). Restarted on the same port:
    frames flow again and camera_restored reports the gap; the worker never restarts."""
    server = rtsp_server(videos / "one-by-one-person-detection.mp4")
    cam = rtsp_camera(server.url, reconnect_max_s=1, fault_after_s=2.0)
    events = Events()
    inp = RtspInput("gate", server.url, analysis_fps=5, open_timeout_s=2, read_timeout_s=2)
    worker = CameraWorker(cam, [inp], EventFactory("n", "s"), events)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while worker.frames_analysed < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.frames_analysed >= 5
        killed = time.monotonic()
        server.stop()
        t_fault, fault = events.first("camera_fault", 10)
        assert t_fault - killed <= 2.0 + 1.0
        assert fault.severity == "alarm" and fault.data["reason"] == "no_frames"
        before = worker.frames_analysed
        restarted = time.monotonic()
        server.start()
        t_back, back = events.first("camera_restored", 15)
        assert back.occurrence == fault.occurrence
        assert back.data["gap_s"] >= 2.0
        assert back.data["gap_s"] <= (t_back - killed) + 0.5
        time.sleep(1.0)
        assert worker.frames_analysed > before
        assert t_back - restarted < 10
    finally:
        worker.stop()
        worker.join(10)


def test_liveness_faults_once_and_restores_with_the_gap() -> None:
    """Silence beyond the limit faults once; the next item restores with the gap; a finished
    replay is never a fault."""
    w = Liveness(2.0, now=0.0)
    assert w.check(1.0) is None
    assert w.check(2.5) == 2.5
    assert w.check(3.0) is None  # once per fault
    r = w.seen(4.0)
    assert r is not None and r.gap_s == 4.0
    assert w.seen(4.1) is None
    w.finished()
    assert w.check(100.0) is None


class _SlowGate:
    """A motion gate that takes 150 ms a frame, as an overloaded Pi might."""

    def process(self, image: object) -> MotionResult:
        time.sleep(0.15)
        return MotionResult(False, (), 0.0, False)


@pytest.mark.slow
def test_slow_analysis_drops_frames_but_never_record_packets(videos: Path) -> None:
    """Analysis at 20 fps with a 150 ms gate: analysis frames are dropped (counted), the queue
    stays bounded, and every encoded packet reaches the record sink as it is made."""
    module = fake_picamera2(videos / "one-by-one-person-detection.mp4")
    src = PicameraSourceConfig(
        kind="picamera",
        width=768,
        height=432,
        lores_width=384,
        lores_height=216,
        fps=20,
        keyframe_interval=20,
    )
    cam = loads("""
[node]
id = "n"
site = "s"
[[cameras]]
name = "pi"
fps = 20
detect = { kind = "picamera", width = 768, height = 432, lores_width = 384, lores_height = 216 }
""").cameras[0]
    inp = PiCameraInput("pi", src, roles=Role.DETECT | Role.RECORD, analysis_fps=20, module=module)
    record: list[tuple[float, Item]] = []
    depth: list[int] = []
    worker = CameraWorker(
        cam,
        [inp],
        EventFactory("n", "s"),
        lambda e: None,
        record=lambda item: record.append((time.monotonic(), item)),
        gate=_SlowGate(),
        queue_size=4,  # a short queue: 3 s are enough to see drops
    )
    worker.start()
    for _ in range(30):
        time.sleep(0.1)
        depth.append(len(worker.queue))
    worker.stop()
    worker.join(10)
    packets = [(t, p) for t, p in record if isinstance(p, Packet)]
    assert worker.dropped > 10
    assert max(depth) <= worker.queue.maxsize
    assert worker.frames_analysed < 0.6 * (worker.frames_analysed + worker.dropped)
    assert len(packets) >= 0.8 * 3.0 * 20  # ~20 packets/s kept flowing
    lag = [t - p.mono for t, p in packets]
    assert max(lag) < 0.1  # handed on at once, never queued behind analysis
    assert not any(isinstance(i, Frame) for _, i in record)  # unmasked: packets, not frames
