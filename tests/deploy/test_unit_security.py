"""Every unit in systemd/ is rated by `systemd-analyze security --offline=true`, each score
printed; the node's unit scores 2.0 or lower while keeping what the node needs (its devices,
groups, network and state directory), and the first-boot unit verifies and scores lower still."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def _exposure(unit: Path) -> float:
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", sec.stdout)
    assert m, sec.stdout[-500:] + sec.stderr
    return float(m.group(1))


def test_every_unit_scored_and_node_unit_at_most_2(capsys: pytest.CaptureFixture[str]) -> None:
    """All units get a score (printed); warehouse-edge.service is <= 2.0 and the first-boot
    unit, which needs no network or device, <= 1.0."""
    scores = {unit.name: _exposure(unit) for unit in UNITS}
    with capsys.disabled():
        print()
        for name, score in scores.items():
            print(f"systemd-analyze security: {name} {score:.1f}")
    assert {"warehouse-edge.service", "warehouse-edge-firstboot.service"} <= scores.keys()
    assert scores["warehouse-edge.service"] <= 2.0
    assert scores["warehouse-edge-firstboot.service"] <= 1.0


def test_node_unit_keeps_what_the_node_needs() -> None:
    """Hardening has not taken away the cameras and GPIO (devices and groups), the network
    (IPv4/IPv6) or the state directory."""
    text = (ROOT / "systemd/warehouse-edge.service").read_text()
    for line in (
        "SupplementaryGroups=video gpio",
        "DeviceAllow=char-video4linux rw",
        "DeviceAllow=char-gpiochip rw",
        "StateDirectory=warehouse-edge",
    ):
        assert line in text, line
    families = re.search(r"^RestrictAddressFamilies=(.+)$", text, re.M)
    assert families and {"AF_INET", "AF_INET6"} <= set(families.group(1).split())
    assert "PrivateNetwork=yes" not in text and "PrivateDevices=yes" not in text


def test_firstboot_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts the first-boot unit (paths made local); it is a
    oneshot that runs only while the signing key is missing, before the daemon."""
    unit = ROOT / "systemd/warehouse-edge-firstboot.service"
    text = unit.read_text()
    local = tmp_path / unit.name
    local.write_text(
        text.replace("/opt/warehouse-edge/venv/bin/edge", shutil.which("true") or "/bin/true")
    )
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(local)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unit.name not in verify.stderr, verify.stderr
    assert "Type=oneshot" in text and "Before=warehouse-edge.service" in text
    assert "ConditionPathExists=!/var/lib/warehouse-edge/keys/node-ed25519.pem" in text
