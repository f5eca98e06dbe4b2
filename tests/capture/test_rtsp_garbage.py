"""An "IP camera" that answers with garbage (not RTSP): the input fails with a reason, the
camera worker raises one camera_fault naming it and keeps retrying, and the node's other
parts are untouched."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from edge.capture.base import SourceError
from edge.capture.rtsp import RtspInput
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker

pytestmark = pytest.mark.faults


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A localhost TCP server that answers every connection with random bytes and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"\x00\xffHTTP/9.9 banana\r\n\r\n" + bytes(range(256)) * 8)
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join(2)
    srv.close()


def test_garbage_answer_is_a_named_source_error(garbage_port: int) -> None:
    """Opening the garbage stream raises a SourceError with a reason, never hangs."""
    inp = RtspInput("gate", f"rtsp://127.0.0.1:{garbage_port}/live", open_timeout_s=3)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        list(inp.stream())
    assert info.value.reason in {"open_failed", "decode_failed", "read_failed"}
    assert time.monotonic() - t0 < 30


def test_garbage_camera_raises_one_fault_and_keeps_trying(garbage_port: int) -> None:
    """The worker reports one camera_fault (with its reason) and reconnects; no crash."""
    cam = loads(f"""
[node]
id = "n"
site = "semarang"
[[cameras]]
name = "gate"
fps = 5
reconnect_max_s = 1
detect = {{ kind = "rtsp", url = "rtsp://127.0.0.1:{garbage_port}/live" }}
""").cameras[0]
    inp = RtspInput("gate", f"rtsp://127.0.0.1:{garbage_port}/live", open_timeout_s=3)
    events: list[Event] = []
    worker = CameraWorker(cam, [inp], EventFactory("n", "semarang"), events.append)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(e.kind == "camera_fault" for e in events):
            time.sleep(0.05)
        faults = [e for e in events if e.kind == "camera_fault"]
        assert len(faults) == 1, events
        assert faults[0].data.get("reason") in {"open_failed", "decode_failed", "read_failed"}
        assert worker.health().alive  # still trying, not dead
    finally:
        worker.stop()
        assert worker.join(15)
