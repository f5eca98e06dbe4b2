"""A node whose certificate is not installed yet (first boot made its key and request) waits,
says so and blinks its lamp, then starts once the certificate is there; any other fault is
still reported at once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from nodecfg import file_camera, node_config, tls_destination
from structlog.testing import capture_logs

from edge.config.loader import loads
from edge.config.preflight import preflight
from edge.config.root import EdgeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.node.enrolment import awaiting_enrolment, wait_for_enrolment
from edge.node.notify import Notifier

LAMP = '[gpio]\nfactory = "mock"\n[[outputs]]\nname = "lamp"\nkind = "status_led"\npin = 22\n'


def _pending(tmp_path: Path, node_cert: CertPair) -> CertPair:
    """The node's key where the config says, its certificate not (yet)."""
    pair = CertPair(tmp_path / "tls" / "node.crt", tmp_path / "tls" / "node.key")
    pair.key.parent.mkdir()
    shutil.copy(node_cert.key, pair.key)
    os.chmod(pair.key, 0o600)
    return pair


def _config(tmp_path: Path, broker: LocalBroker, ca: DemoCA, pair: CertPair, **kw: str) -> str:
    return node_config(tmp_path / "data", "gudang-01", "semarang", extra=kw.get("extra", ""),
                       destinations=[tls_destination(broker, ca, pair)],
                       cameras=kw.get("cameras", ()) and [kw["cameras"]])  # fmt: skip


def test_only_a_missing_certificate_beside_its_key_means_waiting(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """Key present, certificate missing or an empty placeholder: waiting for it. Key
    missing too, or another fault
    (a missing model file): not waiting, the fault is reported."""
    pair = _pending(tmp_path, node_cert)
    cfg = loads(_config(tmp_path, broker, ca, pair))
    assert awaiting_enrolment(cfg, preflight(cfg)) == [pair.cert]
    pair.cert.write_bytes(b"")  # the first-boot unit's placeholder: still waiting
    assert awaiting_enrolment(cfg, preflight(cfg)) == [pair.cert]
    pair.key.unlink()
    assert awaiting_enrolment(cfg, preflight(cfg)) == []
    shutil.copy(node_cert.key, pair.key)
    os.chmod(pair.key, 0o600)
    bad = loads(_config(tmp_path, broker, ca, pair, extra='[detector]\nbackend = "onnx"\n'
                        f'model = "{tmp_path / "missing.onnx"}"\n'))  # fmt: skip
    assert awaiting_enrolment(bad, preflight(bad)) == []


def test_the_wait_reports_blinks_and_ends_when_the_certificate_arrives(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """STATUS says what the node waits for, the lamp blinks degraded, the watchdog is fed;
    once the certificate is installed the wait returns a config with no problems."""
    pair = _pending(tmp_path, node_cert)
    path = tmp_path / "node.toml"
    path.write_text(_config(tmp_path, broker, ca, pair, extra=LAMP))
    sock = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock))
    server.settimeout(10)
    notifier = Notifier({"NOTIFY_SOCKET": str(sock), "WATCHDOG_USEC": "200000"})
    result: list[tuple[EdgeConfig, list[str]] | None] = []

    def reload() -> tuple[EdgeConfig, list[str]]:
        cfg = loads(path.read_text())
        return cfg, preflight(cfg)

    with capture_logs() as logs:
        waiter = threading.Thread(
            target=lambda: result.append(
                wait_for_enrolment(reload, threading.Event(), notifier, poll_s=0.1)
            )
        )
        waiter.start()
        first = server.recv(500).decode()
        assert (
            "READY=1" in first and f"waiting for enrolment: no certificate at {pair.cert}" in first
        )
        assert server.recv(100) == b"WATCHDOG=1"
        shutil.copy(node_cert.cert, pair.cert)
        waiter.join(10)
    server.close()
    assert result and result[0] is not None and result[0][1] == []
    assert any(e["event"] == "status_led" and e["status"] == "degraded" for e in logs)


def test_edge_run_waits_then_starts_and_stops_on_sigterm(
    tmp_path: Path, videos: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """The daemon without its certificate is ready and waiting (not failed, so systemd does
    not restart it); the certificate installed, it starts the node; SIGTERM stops it, 0."""
    pair = _pending(tmp_path, node_cert)
    path = tmp_path / "node.toml"
    cam = file_camera("hall", videos / "preview_people-detection.gif")
    path.write_text(_config(tmp_path, broker, ca, pair, cameras=cam))
    sock = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock))
    server.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock)}
    proc = subprocess.Popen([sys.executable, "-m", "edge", "run", "--config", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert "waiting for enrolment" in server.recv(500).decode()
        assert proc.poll() is None
        shutil.copy(node_cert.cert, pair.cert)
        seen = ""
        while "STATUS=running" not in seen:
            seen += server.recv(500).decode()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "enrolled: starting" in seen
