"""docs/pki.md's commands for the node and the CA host, run exactly as written in a copy
of the installed root (chroot, as root; sudo there as the docs write it): a card that made
its request as 'raspberrypi' recovers (host name set, key and request made again for the
node id, which the site CA then signs), and the CRL timer pair is installed and enabled
for the technician with the passphrase as a root-only credential."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from debroot import in_root
from installed import NODE_ID
from pkidocs import Runner, Shell

ROOT = Path(__file__).resolve().parents[2]
EDGE = "/opt/warehouse-edge/venv/bin/edge"
TLS = "/etc/warehouse-edge/tls"

pytestmark = pytest.mark.slow


def in_chroot(root: Path, cwd: str) -> Runner:
    """Run one documented command (a bash script) as root inside *root*, in *cwd*."""

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["chroot", str(root), "/usr/bin/env", "-C", cwd, "bash", "-c", script],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )

    return run


def test_documented_node_and_ca_host_commands_run_in_the_root(
    root_copy: Callable[[Path], Path], tmp_path: Path
) -> None:
    """hostname: after a first boot as 'raspberrypi', /etc/hostname holds the node id and
    the new request (key 0600) is for CN=smg-utara-01, which `edge pki node-cert --cn`
    signs; timer: the passphrase credential is 0600 in a 0700 directory and the timer of
    warehouse-pki-crl@technician is enabled by timers.target."""
    root = root_copy(tmp_path / "root")
    for name in ("node.key", "node.csr"):
        (root / TLS.lstrip("/") / name).unlink(missing_ok=True)
    wrong = in_root(root, EDGE, "pki", "csr", "--key", f"{TLS}/node.key")
    assert wrong.returncode == 2  # --csr and --cn missing: usage
    wrong = in_root(
        root, EDGE, "pki", "csr", "--key", f"{TLS}/node.key", "--csr", f"{TLS}/node.csr",
        "--cn", "raspberrypi",
    )  # fmt: skip
    assert wrong.returncode == 0, wrong.stderr
    shell = Shell()
    shell.run("hostname", in_chroot(root, "/"))
    tls = root / TLS.lstrip("/")
    assert (root / "etc/hostname").read_text() == f"{NODE_ID}\n"
    assert (tls / "node.key").stat().st_mode & 0o777 == 0o600
    csr = x509.load_pem_x509_csr((tls / "node.csr").read_bytes())
    assert csr.subject.rfc4514_string() == f"CN={NODE_ID}"
    edge = str(Path(sys.executable).parent / "edge")
    ca = tmp_path / "ca"
    for argv in (
        ["init-ca", "--ca-dir", ca, "--name", "site CA", "--no-passphrase"],
        [
            "node-cert",
            "--ca-dir",
            ca,
            "--csr",
            tls / "node.csr",
            "--out",
            tmp_path / "n.crt",
            "--cn",
            NODE_ID,
        ],
    ):
        done = subprocess.run(
            [edge, "pki", *map(str, argv)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert in_root(root, "useradd", "--create-home", "technician").returncode == 0
    config = root / "home/technician/.config/warehouse-edge"
    config.mkdir(parents=True)
    (config / "ca-passphrase").write_text("a passphrase for the test\n")
    (config / "ca-passphrase").chmod(0o600)
    shutil.copytree(ROOT / "systemd", root / "srv/warehouse-edge/systemd")
    shell.run("timer", in_chroot(root, "/srv/warehouse-edge"))
    secret = root / "etc/warehouse-edge/pki"
    assert secret.stat().st_mode & 0o777 == 0o700
    assert (secret / "technician.passphrase").stat().st_mode & 0o777 == 0o600
    wants = root / "etc/systemd/system/timers.target.wants/warehouse-pki-crl@technician.timer"
    assert wants.is_symlink()
