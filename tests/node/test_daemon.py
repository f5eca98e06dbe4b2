"""`edge run` as systemd runs it: READY and watchdog pings over NOTIFY_SOCKET, clean stop on
SIGTERM; the unit file passes systemd-analyze verify and scores well on security."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import Subscribe
from nodecfg import file_camera, node_config, tls_destination

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "warehouse-edge.service"


def test_run_notifies_ready_pings_watchdog_and_stops_on_sigterm(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """The daemon sends READY=1, then WATCHDOG=1 at half WATCHDOG_USEC; SIGTERM stops it with
    exit 0 after publishing a retained offline status."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "daemon",
            "s1",
            extra='[logging]\nformat = "json"',
            cameras=[file_camera("hall", videos / "preview_people-detection.gif")],
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    sock_path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(30)
    police = subscribe("warehouse/s1/daemon/status", client_id="daemon-watch")
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert b"READY=1" in server.recv(200)
        start = time.monotonic()
        pings = [server.recv(200) for _ in range(3)]
        assert pings == [b"WATCHDOG=1"] * 3
        assert time.monotonic() - start < 3.0
        assert police.wait_for(lambda m: any(b'"online"' in x.payload for x in m), 10)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        server.settimeout(0.5)
        after = []
        while True:
            try:
                after.append(server.recv(200))
            except TimeoutError:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
    assert proc.returncode == 0, err.decode()
    assert after[-1] == b"STOPPING=1"
    assert police.wait_for(lambda m: b'"offline"' in m[-1].payload, 10)
    assert b'"event": "node.stopped"' in err or b'"event":"node.stopped"' in err


def _unit_for_here(tmp_path: Path) -> Path:
    edge_bin = shutil.which("edge", path=str(Path(sys.executable).parent)) or sys.executable
    text = UNIT.read_text().replace("/opt/warehouse-edge/venv/bin/edge", edge_bin)
    unit = tmp_path / "warehouse-edge.service"
    unit.write_text(text)
    return unit


def test_unit_file_verifies_and_is_hardened(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts the unit; `security` rates its exposure <= 2.0."""
    unit = _unit_for_here(tmp_path)
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert "warehouse-edge.service" not in verify.stderr, verify.stderr
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
    assert m, sec.stdout[-500:]
    assert float(m.group(1)) <= 2.0
    text = unit.read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text
