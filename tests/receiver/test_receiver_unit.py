"""The receiver's systemd unit passes systemd-analyze verify and scores well on security; the
example receiver.toml validates and agrees with the unit (credentials, state directory)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.receiver.config import load

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "warehouse-receiver.service"
EXAMPLE = ROOT / "firmware_config" / "receiver.example.toml"
INSTALLED_EDGE = "/opt/warehouse-receiver/venv/bin/edge"

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def _settings(name: str) -> list[str]:
    """Every value of ``NAME=`` in the unit, in order."""
    return re.findall(rf"^{name}=(.*)$", UNIT.read_text(), flags=re.MULTILINE)


def _unit_for_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's edge (verify checks it exists)."""
    edge_bin = shutil.which("edge", path=str(Path(sys.executable).parent)) or sys.executable
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_EDGE, edge_bin))
    return unit


@needs_systemd_analyze
def test_unit_file_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts the unit without a warning about it."""
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(_unit_for_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert UNIT.name not in verify.stderr, verify.stderr


@needs_systemd_analyze
def test_unit_file_is_hardened(tmp_path: Path) -> None:
    """`systemd-analyze security` rates the unit's exposure <= 2.0 (the receiver needs no
    devices, so it is held tighter than the node's 2.5)."""
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(_unit_for_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
    assert m, sec.stdout[-500:] + sec.stderr[-500:]
    assert float(m.group(1)) <= 2.0, sec.stdout


def test_unit_runs_the_receiver_as_its_own_user() -> None:
    """The unit runs `edge receive` with the installed config as warehouse-receiver, keeps
    its state in its own StateDirectory, drops every capability and restarts on failure
    (except on exit 2, a bad config)."""
    assert _settings("ExecStart") == [
        f"{INSTALLED_EDGE} receive --config /etc/warehouse-receiver/receiver.toml"
    ]
    assert _settings("User") == ["warehouse-receiver"]
    assert _settings("Group") == ["warehouse-receiver"]
    assert _settings("StateDirectory") == ["warehouse-receiver"]
    assert _settings("Type") == ["notify"]  # READY=1 and WATCHDOG=1 from `edge receive`
    assert _settings("NotifyAccess") == ["main"]
    assert _settings("WatchdogSec") == ["60"]
    assert _settings("Restart") == ["always"]
    assert _settings("RestartPreventExitStatus") == ["2"]
    assert _settings("CapabilityBoundingSet") == [""]
    assert _settings("RestrictAddressFamilies") == ["AF_INET AF_INET6 AF_UNIX"]
    assert _settings("SystemCallFilter")[0] == "@system-service"
    for flag in ("NoNewPrivileges", "PrivateTmp", "MemoryDenyWriteExecute", "PrivateDevices"):
        assert _settings(flag) == ["yes"], flag
    assert _settings("ProtectSystem") == ["strict"]


def test_example_config_validates(tmp_path: Path) -> None:
    """The example receiver.toml is a valid ReceiverConfig (model only: its credential files
    need not exist here) and names a Central Java receiver."""
    cfg = load(EXAMPLE, env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert cfg.receiver.name == "polda-jateng-1"
    assert cfg.broker.host == "mqtt.polda-jateng.example"
    assert cfg.broker.tls is not None and cfg.broker.tls.cert is not None
    assert not cfg.broker.allow_insecure


def test_example_config_passes_check_config(tmp_path: Path) -> None:
    """`edge check-config --no-preflight` takes the example for a receiver config and passes
    it, as a technician would check it before installing."""
    args = ["check-config", "--no-preflight", "--credentials", str(tmp_path), str(EXAMPLE)]
    assert main(args) == 0


def test_example_config_matches_the_unit(tmp_path: Path) -> None:
    """Each credential:NAME in the example is loaded by the unit's LoadCredential=, and its
    data_dir is the unit's StateDirectory (the only place ProtectSystem=strict lets it write)."""
    cfg = load(EXAMPLE, env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    tls = cfg.broker.tls
    assert tls is not None
    loaded = {entry.split(":", 1)[0] for entry in _settings("LoadCredential")}
    used = {Path(p).name for p in (tls.ca, tls.cert, tls.key) if p is not None}
    assert used == loaded
    assert all(Path(p).parent == tmp_path for p in (tls.ca, tls.cert, tls.key) if p)
    assert cfg.data_dir == Path("/var/lib") / _settings("StateDirectory")[0]
