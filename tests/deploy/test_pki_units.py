"""The CA host's CRL timer pair (systemd/warehouse-pki-crl@.service and .timer):
`systemd-analyze verify` accepts both, the service is sandboxed down to the CA directory
(exposure 1.0 or lower: no network, no devices, no capabilities, the home hidden but that
one directory) and the timer runs daily, catches up after the machine was off and spreads
its start."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from crlunit import NODE_EDGE, SERVICE, TIMER, settings

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def _instance(tmp: Path, unit: Path) -> Path:
    """*unit* as the instance for user 'technician', the edge path made local."""
    local = tmp / unit.name.replace("@.", "@technician.")
    local.write_text(unit.read_text().replace(NODE_EDGE, shutil.which("true") or "/bin/true"))
    return local


def test_crl_units_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` reports nothing about either unit of the pair."""
    units = [_instance(tmp_path, u) for u in (SERVICE, TIMER)]
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert not any(u.name in verify.stderr for u in units), verify.stderr


def test_crl_service_exposure_is_low(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exposure 1.0 or lower (printed); a oneshot as the instance's user, the passphrase a
    credential (never on the command line), writing only the CA directory."""
    unit = _instance(tmp_path, SERVICE)
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
    assert m, sec.stdout[-500:] + sec.stderr
    with capsys.disabled():
        print(f"\nsystemd-analyze security: {SERVICE.name} {m.group(1)}")
    assert float(m.group(1)) <= 1.0
    assert settings("Type") == ["oneshot"] and settings("User") == ["%i"]
    assert settings("ProtectHome") == ["tmpfs"] and settings("PrivateNetwork") == ["yes"]
    assert settings("BindPaths") == ["/home/%i/.local/share/warehouse-edge/pki/ca"]
    assert settings("Environment") == ["EDGE_PKI_PASSPHRASE_FILE=%d/ca-passphrase"]
    (cmd,) = settings("ExecStart")
    assert "passphrase" not in cmd and "--renew-within 30 --days 45" in cmd


def test_crl_timer_is_daily_persistent_and_spread() -> None:
    """Daily, Persistent (a missed day runs at boot), a randomized delay, enabled by
    timers.target."""
    assert settings("OnCalendar", TIMER) == ["daily"]
    assert settings("Persistent", TIMER) == ["true"]
    assert settings("RandomizedDelaySec", TIMER) == ["1h"]
    assert settings("WantedBy", TIMER) == ["timers.target"]
