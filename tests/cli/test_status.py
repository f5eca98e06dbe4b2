"""`edge status`: what the running daemon wrote at its last heartbeat (cameras, sensors,
queues per destination, links, disk) and the last events its audit log records as
delivered; exit 0 healthy, 1 degraded/offline/alarm, 3 not running or stale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from nodecfg import node_config, sensor, tls_destination

from edge.cli.main import main
from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.audit import AuditLog
from edge.node import statefile

ROOT = Path(__file__).resolve().parents[2]
HEALTH_SCHEMA = json.loads((ROOT / "edge" / "schemas" / "health.schema.json").read_text())


def status(config: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    """Exit status and stdout of ``edge status --config CONFIG MORE...``."""
    capsys.readouterr()
    code = main(["status", "--config", str(config), *more])
    return code, capsys.readouterr().out


def test_running_daemon_is_shown_then_not_running(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real `edge run` writes DATA_DIR/state/status.json (0600 in a 0700 directory, its
    health matching the heartbeat schema); once its link is up `edge status` exits 0 and
    shows the node, its sensor and its connected link; after SIGTERM it exits 3, not
    running, and still shows the last known state."""
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "st1",
            "s1",
            mock_gpio=True,
            extra="[health]\ninterval_s = 5",
            sensors=[sensor("door", "door", pin=5)],
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    state_file = tmp_path / "data" / "state" / "status.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        code, out = 3, ""
        while time.monotonic() < deadline and code != 0:
            time.sleep(0.5)
            code, out = status(cfg, capsys)
        assert code == 0, out
        assert "node st1 at s1: healthy" in out and "connected" in out and "door" in out
        state = json.loads(state_file.read_text())
        jsonschema.validate(state["health"], HEALTH_SCHEMA)
        assert state["pid"] == proc.pid and state["interval_s"] == 5
        assert oct(state_file.stat().st_mode & 0o777) == "0o600"
        assert oct(state_file.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    code, out = status(cfg, capsys)
    assert code == 3 and out.startswith("NOT RUNNING") and f"pid {proc.pid}" in out
    assert "node st1 at s1" in out  # the last known state


def _health(**changes: Any) -> dict[str, Any]:
    """A heartbeat as the node reports it (valid against the schema), with *changes*."""
    health: dict[str, Any] = {
        "schema": "warehouse-edge/health/1",
        "node": "n1",
        "site": "s1",
        "version": "0",
        "time": time.time(),
        "uptime_s": 12.0,
        "clock_synced": True,
        "queue": {"police": {"alarm": 2, "event": 7}},
        "outbox_counters": {},
        "disk_free_bytes": 5_000_000_000,
        "clips_bytes": 1_000_000,
        "clips_evicted": 0,
        "cpu_temp_c": None,
        "cameras": {
            "hall": {
                "frames": 100,
                "dropped": 3,
                "last_frame_age_s": 0.2,
                "faulted": True,
                "detector_calls": 5,
                "detector_ms": 20.0,
                "lag_s": 0.1,
                "decode_lag_s": 0.05,
                "session": 1,
            },
            "dock": {"blocked": "privacy mask missing"},
        },
        "sensors": [],
        "status": "degraded",
        "reasons": ["camera_fault:hall"],
        "storage": {
            "fault": None,
            "unstored_events": 0,
            "unstored_dropped": {},
            "reserve_held": True,
            "outbox_recovered": None,
        },
        "links": {
            "police": {
                "connected": False,
                "last_error": "connection refused",
                "delivery_error": None,
                "broker_max_packet": None,
                "no_subscribers": 0,
                "refusals": {},
                "duplicate_node_id": False,
                "connects": 1,
            }
        },
        "audit_head": "0" * 64,
        "key_id": "0" * 16,
    }
    health.update(changes)
    jsonschema.validate(health, HEALTH_SCHEMA)
    return health


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A node config (heartbeat every 10 s) with its data directory."""
    path = tmp_path / "node.toml"
    path.write_text(node_config(tmp_path / "data", "n1", "s1", extra="[health]\ninterval_s = 10"))
    return path


def _write(config: Path, health: dict[str, Any], age_s: float = 0.0) -> Path:
    cfg = loads(config.read_text())
    path = statefile.state_path(cfg)
    statefile.write(path, health, cfg.health.interval_s)  # as the node does, with our PID
    if age_s:
        state = json.loads(path.read_text())
        state["written"] -= age_s
        path.write_text(json.dumps(state))
    return path


def test_degraded_state_lists_cameras_queues_links_and_last_events(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A degraded state exits 1 and names the faulted and the blocked camera with their
    counts, the link down with its error, the queue per class, the disk; the last events
    come from the audit log, each once with its destinations, heartbeats left out."""
    _write(config, _health())
    cfg = loads(config.read_text())
    audit = AuditLog(cfg.audit_path)
    audit.append("shared", "door_open", "ev-1", "police", "a" * 64, topic="events")
    audit.append("shared", "door_open", "ev-1", "archive", "a" * 64, topic="events")
    audit.append("shared", "node_health", "hb-1", "police", "b" * 64, topic="health")
    audit.append("shared", "person", "ev-2", "police", "c" * 64, topic="events")
    code, out = status(config, capsys)
    assert code == 1, out
    assert "node n1 at s1: degraded (camera_fault:hall)" in out
    assert "hall         FAULT frames 100, dropped 3" in out
    assert "dock         BLOCKED: privacy mask missing" in out
    assert "police       DOWN, queued: alarm 2, event 7" in out
    assert "last_error: connection refused" in out and "free 5.00 GB" in out
    events = out.split("last events delivered:")[1]
    assert "ev-1 -> ['police', 'archive']" in events and "hb-1" not in events
    assert events.index("ev-1") < events.index("ev-2")
    code, out = status(config, capsys, "--json")
    data = json.loads(out)
    assert code == 1 and data["exit"] == 1 and data["running"] is True
    assert data["state"]["health"]["status"] == "degraded"
    assert [e["id"] for e in data["last_events"]] == ["ev-1", "ev-2"]


def test_healthy_exits_0_alarm_exits_1(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Healthy is exit 0; alarm (a siren sounds) is exit 1."""
    _write(config, _health(status="healthy", reasons=[]))
    assert status(config, capsys)[0] == 0
    _write(config, _health(status="alarm", reasons=[]))
    code, out = status(config, capsys)
    assert code == 1 and ": alarm" in out


def test_stale_missing_or_dead_state_exits_3(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No state file, one older than three heartbeat intervals (here 30 s) and one whose
    daemon PID is gone all exit 3 with the reason; 25 s old is still fresh."""
    code, out = status(config, capsys)
    assert code == 3 and "no state file" in out
    _write(config, _health(status="healthy", reasons=[]), age_s=25)
    assert status(config, capsys)[0] == 0
    _write(config, _health(status="healthy", reasons=[]), age_s=35)
    code, out = status(config, capsys)
    assert code == 3 and "hung or not running" in out
    path = _write(config, _health(status="healthy", reasons=[]))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    state = json.loads(path.read_text())
    state["pid"] = int(dead.stdout)
    path.write_text(json.dumps(state))
    code, out = status(config, capsys, "--json")
    assert code == 3 and json.loads(out)["running"] is False
    assert os.path.exists(path)


def test_a_state_file_that_cannot_be_written_never_stops_the_heartbeat(config: Path) -> None:
    """Where the state directory cannot be made (a file is in its way), the heartbeat still
    gets its health dict back and the failure is logged as a warning."""
    import structlog

    cfg = loads(config.read_text())
    statefile.state_path(cfg).parent.write_text("in the way")
    health = _health()
    with structlog.testing.capture_logs() as logged:
        assert statefile.written(cfg, health) is health
    assert [e["log_level"] for e in logged if e["event"] == "node.state_file_failed"] == ["warning"]
