"""A camera that reconnects, again and again, against a real RTSP server: detection goes on in
every new session, no track of an old session lingers, each session is logged with its stream
description, the heartbeat shows the lag, and a returning camera is back within its
reconnect cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from conftest import SHARED, RtspServer
from rtspcam import Events, rtsp_camera

from edge.analysis.detect.onnx import OnnxDetector
from edge.capture.rtsp import RtspInput
from edge.config.cameras import CameraConfig
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker
from edge.node.heartbeat import camera_health

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
VIDEO = "one-by-one-person-detection.mp4"  # the first person walks in about 6.1 s in
RESTARTS = 5
CAP_S = 2.0


def _until(ok: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(0.05)


def _person_in_session(worker: CameraWorker, events: Events, session: int, calls: int = 0) -> Event:
    """Waits for *session*'s first frame, the detector running in it (within 5 s, after a
    reconnect: more than *calls*, the count while the camera was away) and its person
    START; returns that."""
    _until(lambda: worker.session == session, 15, f"in session {session}")
    t0 = time.monotonic()
    if session > 1:
        _until(
            lambda: worker.analyzer.stats.detector_calls > calls,
            5,
            f"detecting in session {session}",
        )
    t_start, start = events.wait(
        lambda e: e.kind == "person" and e.state == "start" and e.data["session"] == session,
        20,
        f"person START in session {session}",
    )
    print(f"session {session}: person START {t_start - t0:.1f} s after its first frame")
    assert 5.0 <= start.data["stream_time"] <= 12.0
    return start


def _worker(url: str, events: Events, cam: CameraConfig, **kw: Any) -> CameraWorker:
    inp = RtspInput("gate", url, analysis_fps=5, open_timeout_s=2, read_timeout_s=2)
    return CameraWorker(cam, [inp], EventFactory("n", "s"), events, **kw)


def test_reconnect_default_is_within_ten_seconds() -> None:
    """A camera's reconnect attempts are at most 10 s apart unless configured otherwise."""
    assert rtsp_camera("rtsp://127.0.0.1:1/cam", reconnect_max_s=10).reconnect_max_s == 10.0
    default = CameraConfig.model_fields["reconnect_max_s"].default
    assert default <= 10.0


@pytest.mark.slow
def test_people_are_detected_after_every_server_restart(
    videos: Path, rtsp_server: Callable[[Path], RtspServer]
) -> None:
    """The RTSP server is restarted 5 times (down ~1 s each; every session replays the video
    from 0). In every session the detector runs again within 5 s of its first frame and the
    person walking in is a person START of that session; the track open at each restart
    ends (END, camera_lost) in its own session, at the loss, before the next START; each
    session is logged as camera.connected with its stream; the heartbeat entry shows the lag
    and the session."""
    server = rtsp_server(videos / VIDEO)
    events = Events()
    detector = OnnxDetector(MODEL, score=0.3, nms_iou=0.55)
    worker = _worker(
        server.url, events, rtsp_camera(server.url, reconnect_max_s=1), detector=detector
    )
    began = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        worker.start()
        try:
            calls = 0
            for session in range(1, RESTARTS + 2):
                start = _person_in_session(worker, events, session, calls)
                if session > 1:  # the previous session's track ended when it was lost, in it
                    ends = [
                        e for e in events.all("person", "end") if e.data["session"] == session - 1
                    ]
                    assert len(ends) == 1 and ends[0].ts <= start.ts
                    assert ends[0].data["reason"] == "camera_lost"
                if session <= RESTARTS:
                    server.stop()
                    threading.Event().wait(1.0)  # the camera is away for a while
                    calls = worker.analyzer.stats.detector_calls
                    server.start()
            health = camera_health(worker, time.time())
        finally:
            worker.stop()
            worker.join(10)
    print(f"{RESTARTS} restarts, {RESTARTS + 1} sessions in {time.monotonic() - began:.1f} s")
    starts = events.all("person", "start")
    ends = events.all("person", "end")
    assert len(starts) == RESTARTS + 1
    assert {e.occurrence for e in ends} == {e.occurrence for e in starts}  # none left open
    assert not worker.analyzer.tracker.tracks
    connected = [e for e in logs if e["event"] == "camera.connected"]
    assert [e["session"] for e in connected] == list(range(1, RESTARTS + 2))
    assert {(e["codec"], e["width"], e["height"], e["role"]) for e in connected} == {
        ("h264", 768, 432, "detect")
    }
    print(f"heartbeat: lag_s {health['lag_s']}, decode_lag_s {health['decode_lag_s']}")
    assert health["session"] == RESTARTS + 1
    assert 0.0 <= health["decode_lag_s"] <= health["lag_s"] < 2.0


@pytest.mark.slow
def test_a_returning_camera_is_back_within_its_reconnect_cap(
    videos: Path, rtsp_server: Callable[[Path], RtspServer]
) -> None:
    """Server down long enough for the backoff to reach its cap (2 s), then back: the camera
    is restored within cap + 2 s of the server listening again."""
    server = rtsp_server(videos / VIDEO)
    events = Events()
    worker = _worker(
        server.url, events, rtsp_camera(server.url, reconnect_max_s=CAP_S, fault_after_s=1.0)
    )
    worker.start()
    try:
        _until(lambda: worker.frames_analysed >= 3, 15, "analysing")
        stopped = time.monotonic()
        server.stop()
        events.wait(lambda e: e.kind == "camera_fault", 10, "camera_fault", since=stopped)
        # attempts back off 0.5, 1, 2 (each jittered to [d/2, d]): at the cap after 3.5 s
        threading.Event().wait(0.5 + 1 + CAP_S + 1.0)
        server.start()
        listening = time.monotonic()
        t_back, back = events.wait(
            lambda e: e.kind == "camera_restored", 15, "camera_restored", since=stopped
        )
    finally:
        worker.stop()
        worker.join(10)
    took = t_back - listening
    print(f"camera restored {took:.2f} s after the server was back (cap {CAP_S} s)")
    assert took <= CAP_S + 2.0
    assert back.data["gap_s"] >= 0.5 + 1 + CAP_S
