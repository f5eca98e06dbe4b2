"""A real `edge run` says what changed where a technician looks, at once and in plain words:
`edge status` shows a camera down within about a second (not at the next heartbeat),
``STATUS=`` names the down camera after ``down:``, and SIGTERM gives one ``offline``
status (the node's own: the broker drops the will), while SIGKILL still gives the will."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import RtspServer, Subscribe
from nodecfg import node_config, tls_destination
from timing import wait_until

from edge.cli.main import main
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Received

VIDEO = "walking-by.h264"
HEARTBEAT_S = 60
"""The heartbeat interval of these nodes: far longer than any wait below."""
FOLLOW_S = 1.5
"""`edge status` shows a change this soon (the contract is about 1 s; the margin is for a
loaded machine)."""
WILL_DELAY_S = 1


class NotifySocket:
    """A datagram socket recording each ``STATUS=`` line sent to it (as systemd would)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.statuses: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096).decode(errors="replace")
            except TimeoutError:
                continue
            except OSError:
                return
            self.statuses += [f[7:] for f in data.split("\n") if f.startswith("STATUS=")]

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def rtsp_camera(name: str, url: str) -> str:
    """A ``[[cameras]]`` block on *url* that faults 2 s after its frames stop."""
    return (
        f'[[cameras]]\nname = "{name}"\nfps = 2\nfault_after_s = 2\nreconnect_max_s = 2\n'
        f'detect = {{ kind = "rtsp", url = "{url}", open_timeout_s = 2, read_timeout_s = 2 }}\n'
    )


def edge_status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``edge status --config CONFIG --json``, run as a technician would, parsed."""
    capsys.readouterr()
    main(["status", "--config", str(config), "--json"])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def statuses(msgs: list[Received], node: str) -> list[dict[str, Any]]:
    """The ``offline``/``online`` statuses of *node* that reached the subscriber."""
    return [m.json() for m in msgs if m.topic == f"warehouse/s9/{node}/status"]


def offlines(msgs: list[Received], node: str) -> list[dict[str, Any]]:
    """The ``offline`` statuses of *node*: its own (``stopped``) and wills."""
    return [s for s in statuses(msgs, node) if s["state"] == "offline"]


def start(config: Path, notify: Path | None = None) -> subprocess.Popen[bytes]:
    """`edge run --config CONFIG`, with NOTIFY_SOCKET when *notify* is given."""
    env = None if notify is None else {**os.environ, "NOTIFY_SOCKET": str(notify)}
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.faults
def test_a_camera_going_down_is_in_edge_status_within_a_second_and_status_names_it_down(
    tmp_path: Path,
    videos: Path,
    rtsp_server: Callable[[Path], RtspServer],
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two RTSP cameras, a heartbeat every 60 s. The dock camera's server stops: `edge
    status` shows dock FAULT (and the node degraded) within 1.5 s of its camera_fault
    reaching the police broker, from a state written after the last heartbeat; STATUS=
    says ``cameras 1/2 up (down: dock)``. Then SIGTERM: exactly one ``offline`` reaches
    the police (the node's, ``stopped``), and no will follows it."""
    hall = rtsp_server(videos / VIDEO)
    dock = rtsp_server(videos / VIDEO)
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "follow",
            "s9",
            mock_gpio=True,
            extra=f"[health]\ninterval_s = {HEARTBEAT_S}\n[clips]\nenabled = false",
            cameras=[rtsp_camera("hall", hall.url), rtsp_camera("dock", dock.url)],
            destinations=[tls_destination(broker, ca, node_cert, will_delay_s=WILL_DELAY_S)],
        )
    )
    police = subscribe("warehouse/s9/follow/#", client_id="follow-watch")
    notify = NotifySocket(tmp_path / "notify.sock")
    proc = start(cfg, notify.path)
    try:
        healthy = lambda: edge_status(cfg, capsys)["exit"] == 0  # noqa: E731
        assert wait_until(healthy, 60, step=0.2), edge_status(cfg, capsys)
        both = lambda: "running: healthy, 2 cameras" in "".join(notify.statuses[-1:])  # noqa: E731
        assert wait_until(both, 15), notify.statuses
        first = edge_status(cfg, capsys)["state"]["written"]

        before = len(_faults(police.messages, "dock"))  # a camera slow to start faults too
        dock.stop()
        fault = lambda m: len(_faults(m, "dock")) > before  # noqa: E731
        assert police.wait_for(fault, 30), police.messages
        arrived = time.monotonic()
        seen: dict[str, Any] = {}

        def dock_down() -> bool:
            seen.update(edge_status(cfg, capsys))
            return bool(seen["state"]["health"]["cameras"]["dock"].get("faulted"))

        assert wait_until(dock_down, 10, step=0.05), seen
        lag = time.monotonic() - arrived
        with capsys.disabled():
            print(f"edge status showed the fault {lag:.2f} s after camera_fault reached the broker")
        assert lag < FOLLOW_S
        assert seen["exit"] == 1 and seen["running"] is True
        assert seen["state"]["health"]["status"] == "degraded"
        assert "camera_fault:dock" in seen["state"]["health"]["reasons"]
        assert not seen["state"]["health"]["cameras"]["hall"]["faulted"]
        assert seen["state"]["written"] > first  # a change, not a heartbeat (60 s apart)

        down = lambda: any("cameras 1/2 up (down: dock)" in s for s in notify.statuses)  # noqa: E731
        assert wait_until(down, 15), notify.statuses
        line = next(s for s in notify.statuses if "down: dock" in s)
        assert line.startswith("running: cameras 1/2 up (down: dock)"), line
        assert "(dock)" not in line

        police.messages.clear()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert police.wait_for(lambda m: bool(offlines(m, "follow")), 10)
        # a will would come 1-2 s after its delay (mosquitto looks about once a second)
        assert not police.wait_for(lambda m: len(offlines(m, "follow")) > 1, WILL_DELAY_S + 3)
        assert [s["cause"] for s in offlines(police.messages, "follow")] == ["stopped"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        notify.close()


def _faults(msgs: list[Received], camera: str) -> list[dict[str, Any]]:
    events = [m.json() for m in msgs if m.topic.endswith("/events")]
    return [e for e in events if e["kind"] == "camera_fault" and e["camera"] == camera]


@pytest.mark.faults
def test_sigkill_still_leaves_the_will_and_only_the_will(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """A node killed (no clean stop) is announced by the broker's will (``connection_lost``)
    after its delay: one ``offline``, none of its own."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "killed",
            "s9",
            mock_gpio=True,
            destinations=[tls_destination(broker, ca, node_cert, will_delay_s=WILL_DELAY_S)],
        )
    )
    police = subscribe("warehouse/s9/killed/status", client_id="killed-watch")
    proc = start(cfg)
    try:
        online = lambda m: any(s["state"] == "online" for s in statuses(m, "killed"))  # noqa: E731
        assert police.wait_for(online, 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert police.wait_for(lambda m: bool(offlines(m, "killed")), 15)
        assert not police.wait_for(lambda m: len(offlines(m, "killed")) > 1, 2)
        assert [s["cause"] for s in offlines(police.messages, "killed")] == ["connection_lost"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
