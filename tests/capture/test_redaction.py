"""Camera passwords never leave the capture layer: FFmpeg repeats the URL it was given (with
``user:password@``, or a password in the path as XMEye cameras take it) in its errors, and none
of it may reach a log line, an event, the worker's error, a heartbeat or an MQTT payload, in a
camera worker, a node, or a real `edge run` delivering to a real broker."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from conftest import RtspServer, Subscribe
from nodecfg import node_config, tls_destination
from timing import wait_until

from edge.capture.base import SourceError
from edge.capture.redact import redact
from edge.capture.rtsp import RtspInput
from edge.config.cameras import CameraConfig
from edge.config.loader import loads
from edge.core.logs import configure
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Received
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker
from edge.node.node import Node

pytestmark = pytest.mark.faults

PASSWORD = "Pw-7f3a9c-canary"  # in the userinfo
TOKEN = "Tk-51be02-canary"  # in the query
IN_PATH = "Pp-93d1e0_canary"  # in the path, XMEye/Dahua style (an underscore in it, too)
AUTHBASIC = "YWRtaW46UGItN2U0Yy1jYW5hcnk="  # Amcrest/Dahua authbasic (admin:Pb-7e4c-canary)
SECRETS = (PASSWORD, TOKEN, IN_PATH, AUTHBASIC, "Pb-7e4c")


def test_redact_hides_userinfo_and_credential_query_values() -> None:
    """User and password of every URL, and password/pass/token query values, become ***;
    the rest of the text (host, port, path) stays readable; text without URLs is untouched."""
    text = (
        "[Errno 111] Connection refused: 'rtsp://admin:s3cret@10.0.0.5:554/live?pass=p1&ch=2' "
        "then RTSPS://u:p@h/x and http://cam/snap?user=a&password=p2"
    )
    assert redact(text) == (
        "[Errno 111] Connection refused: 'rtsp://***@10.0.0.5:554/live?pass=***&ch=2' "
        "then RTSPS://***@h/x and http://cam/snap?user=a&password=***"
    )
    # a password holding "@", "/" or a quote is hidden whole
    for odd in ("p@ss", "pa/ss", "pa'ss"):
        assert "ss" not in redact(f"open {f'rtsp://admin:{odd}@h:554/s'!r} failed").split("@h")[0]
    assert redact("rtsp://***@h/x") == "rtsp://***@h/x"  # idempotent
    assert redact("mail ops@example.org, path /a/b") == "mail ops@example.org, path /a/b"


def test_source_error_is_redacted_and_never_chains_the_ffmpeg_error() -> None:
    """A SourceError's message is redacted when it is made, and an input's open failure does
    not carry FFmpeg's exception (whose filename is the URL in clear) as its cause."""
    assert PASSWORD not in str(SourceError(f"cannot open rtsp://a:{PASSWORD}@h/x"))
    inp = RtspInput("cam", _url(_refused_port(), "/live"), open_timeout_s=2, read_timeout_s=2)
    with pytest.raises(SourceError) as info:
        list(inp.stream())
    assert "rtsp://***@127.0.0.1" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not any(s in str(info.value) for s in SECRETS)


# -- a camera worker -----------------------------------------------------------------------------


def _refused_port() -> int:
    """A localhost port nobody listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(port: int, path: str) -> str:
    return f"rtsp://admin:{PASSWORD}@127.0.0.1:{port}{path}?password={TOKEN}"


def _path_url(port: int) -> str:
    """The XMEye path form: the credentials are path segments, no userinfo, no query."""
    return f"rtsp://127.0.0.1:{port}/user=admin_password={IN_PATH}_channel=1_stream=0.sdp"


def _camera_toml(url: str) -> str:
    return f"""[[cameras]]
name = "gate"
fps = 5
fault_after_s = 1
reconnect_max_s = 1
detect = {{ kind = "rtsp", url = "{url}", open_timeout_s = 2, read_timeout_s = 2 }}
"""


def _camera(url: str) -> CameraConfig:
    return loads(f'[node]\nid = "n"\nsite = "s"\n{_camera_toml(url)}').cameras[0]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Every structured log line (debug and up, JSON) written to a buffer for the test."""
    saved = structlog.get_config()
    buf = io.StringIO()
    configure("debug", "json", stream=buf)
    yield buf
    structlog.configure(**saved)


class _Events:
    """Collects emitted events; waits for one with a deadline."""

    def __init__(self) -> None:
        self.items: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, e: Event) -> None:
        with self.lock:
            self.items.append(e)

    def wait(self, kind: str, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.items if e.kind == kind]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {kind} within {timeout} s: {self.items}")


def _assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} holds a credential: {text[:2000]}"


@pytest.mark.parametrize("target", ["refused-port", "missing-path", "password-in-path"])
def test_worker_fault_error_and_logs_hold_no_password(
    target: str,
    rtsp_server: Callable[[Path], RtspServer],
    videos: Path,
    log_stream: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A camera URL with a password and a token, at a refused port or at a path a real RTSP
    server does not have: the worker raises camera_fault (open_failed) at once, and neither
    the events' JSON, ``worker.error``, the log lines nor anything written to stdout/stderr
    holds either secret (the host and path are still there to diagnose)."""
    if target == "refused-port":
        url = _url(_refused_port(), "/live")
    elif target == "password-in-path":
        url = _path_url(_refused_port())
    else:
        server = rtsp_server(videos / "walking-by.h264")
        url = _url(server.port, "/no-such-stream")
    events = _Events()
    worker = CameraWorker(
        _camera(url),
        [RtspInput("gate", url, open_timeout_s=2, read_timeout_s=2)],
        EventFactory("n", "s"),
        events,
    )
    worker.start()
    try:
        fault = events.wait("camera_fault", 15)
        # a reconnect attempt too: its log lines are checked as well
        deadline = time.monotonic() + 15
        while log_stream.getvalue().count("capture.input_failed") < 2:
            assert time.monotonic() < deadline, "no reconnect attempt within 15 s"
            time.sleep(0.05)
    finally:
        worker.stop()
        assert worker.join(10)
    _assert_no_secret("events", "\n".join(e.to_json().decode() for e in events.items))
    _assert_no_secret("worker.error", str(worker.error))
    _assert_no_secret("log", log_stream.getvalue())
    out, err = capfd.readouterr()
    _assert_no_secret("stdout/stderr", out + err)
    assert fault.data["reason"] == "open_failed"
    shown = "_password=***_channel=1" if target == "password-in-path" else "rtsp://***@127.0.0.1"
    assert shown in fault.data["error"]
    assert worker.error is not None and shown in worker.error


@pytest.mark.slow
def test_node_sends_and_logs_no_password(
    tmp_path: Path,
    rtsp_server: Callable[[Path], RtspServer],
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
    log_stream: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A whole node with an RTSP camera whose URL (password, token) points at a missing path
    on a real server, delivering to a real broker: the police subscriber receives the
    camera_fault and a heartbeat, and no payload, log line, event in the sink or output of the
    process holds either secret."""
    server = rtsp_server(videos / "walking-by.h264")
    url = _url(server.port, "/no-such-stream")
    cfg = node_config(
        tmp_path / "data",
        "n1",
        "s1",
        cameras=[_camera_toml(url)],
        destinations=[tls_destination(broker, ca, node_cert)],
    )
    police = subscribe("warehouse/s1/n1/#", client_id="police-redaction")
    node = Node(loads(cfg))
    accepted: list[Event] = []
    node.sink.subscribe(accepted.append)

    def fault_arrived(msgs: list[Received]) -> bool:
        return any(m.topic.endswith("/events") and m.json()["kind"] == "camera_fault" for m in msgs)

    node.start()
    try:
        assert police.wait_for(fault_arrived, 30), [m.topic for m in police.messages]
        node.heartbeat()
        assert police.wait_for(lambda ms: any(m.topic.endswith("/health") for m in ms), 15)
    finally:
        node.stop()
    fault = next(e for e in police.events() if e["kind"] == "camera_fault")
    assert fault["camera"] == "gate" and "***@" in fault["data"]["error"]
    payloads = [m.payload.decode("utf-8", "replace") for m in police.messages]
    _assert_no_secret("MQTT payloads", "\n".join(payloads))
    _assert_no_secret("accepted events", json.dumps([e.to_dict() for e in accepted]))
    _assert_no_secret("node.camera error", str([w.error for w in node.cameras]))
    _assert_no_secret("log", log_stream.getvalue())
    out, err = capfd.readouterr()
    _assert_no_secret("stdout/stderr", out + err)


@pytest.mark.slow
def test_edge_run_sends_and_logs_no_password_in_any_url_form(
    tmp_path: Path,
    rtsp_server: Callable[[Path], RtspServer],
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """A real `edge run` (JSON logs) with three cameras at paths a real RTSP server does not
    have: the XMEye path form, Amcrest's authbasic query, userinfo with a query password.
    The police subscriber receives a camera_fault for each, with the host and the path in
    its error; after reconnect attempts and SIGTERM, no MQTT payload, log line, output of
    the process or file in its data directory holds any of the secrets."""
    server = rtsp_server(videos / "walking-by.h264")
    urls = {
        "xmeye": _path_url(server.port),
        "amcrest": f"rtsp://127.0.0.1:{server.port}/cam/realmonitor?channel=1&subtype=0"
        f"&authbasic={AUTHBASIC}",
        "axis": _url(server.port, "/axis-media/media.amp"),
    }
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "r1",
            "s1",
            extra='[logging]\nformat = "json"\nlevel = "debug"',
            cameras=[_camera_toml(url).replace('"gate"', f'"{n}"') for n, url in urls.items()],
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    police = subscribe("warehouse/s1/r1/#", client_id="police-redaction-run")
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"

    def faults(msgs: list[Received]) -> set[str]:
        events = [m.json() for m in msgs if m.topic.endswith("/events")]
        return {e["camera"] for e in events if e["kind"] == "camera_fault"}

    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(cfg)], stdout=out, stderr=err
        )
        try:
            assert police.wait_for(lambda ms: faults(ms) == set(urls), 60), faults(police.messages)
            assert wait_until(lambda: err_path.read_text().count("capture.input_failed") >= 6, 30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    errors = {
        e["camera"]: e["data"]["error"] for e in police.events() if e["kind"] == "camera_fault"
    }
    assert "/user=admin_password=***_channel=1_stream=0.sdp" in errors["xmeye"]
    assert "/cam/realmonitor?channel=1&subtype=0&authbasic=***" in errors["amcrest"]
    assert f"rtsp://***@127.0.0.1:{server.port}/axis-media/media.amp?password=***" in errors["axis"]
    payloads = [m.payload.decode("utf-8", "replace") for m in police.messages]
    _assert_no_secret("MQTT payloads", "\n".join(payloads))
    _assert_no_secret("edge run stderr (logs)", err_path.read_text())
    _assert_no_secret("edge run stdout", out_path.read_text())
    for path in (tmp_path / "data").rglob("*"):  # outbox, audit log, state file, clips
        if path.is_file():
            _assert_no_secret(str(path), path.read_bytes().decode("latin-1"))
