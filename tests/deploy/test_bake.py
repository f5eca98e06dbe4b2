"""bake.yml makes an SD-card image from a Debian bookworm root (debootstrap) through the chroot
connection: the daemon installed and enabled, and no node identity inside. The first-boot unit's
commands, run in the root as systemd would, then make the node's signing key, TLS key and
certificate signing request there, private to their owners."""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from debroot import (
    MODEL,
    ROOT,
    build_wheel,
    cache_dir,
    fresh_root,
    in_root,
    need_root_tools,
    playbook,
    private_keys,
    recap,
)

pytestmark = pytest.mark.slow

FIRSTBOOT = ROOT / "systemd" / "warehouse-edge-firstboot.service"
HOSTNAME = "smg-utara-01"
SECRET_DIRS = ("/etc", "/var", "/root", "/home", "/opt/warehouse-edge", "/boot")
SIGNING_KEY = "var/lib/warehouse-edge/keys/node-ed25519.pem"


@dataclass(frozen=True)
class Baked:
    """A baked root and what bake.yml printed."""

    root: Path
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baked]:
    """A fresh root with bake.yml run into it (board rpi)."""
    need_root_tools()
    if not MODEL.exists():
        pytest.skip(f"{MODEL} missing (../shared)")
    tmp = tmp_path_factory.mktemp("bake")
    root = fresh_root(tmp / "root")
    inventory = tmp / "image.ini"
    # The controller's wheelhouse cache and a wheel built once (the documented command builds
    # one from the tree); the rest is the documented command's: board, model and its hash.
    inventory.write_text(
        f"""image ansible_host={root}

[all:vars]
warehouse_wheelhouse_dir={cache_dir() / "wheelhouse"}
warehouse_wheelhouse_wheel={build_wheel(tmp / "dist")}
"""
    )
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    run = playbook(
        "bake.yml",
        inventory,
        *("-c", "community.general.chroot", "-e", "board=rpi"),
        *("-e", f"model={MODEL}", "-e", f"model_sha256={sha}"),
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    yield Baked(root, run)
    shutil.rmtree(tmp, ignore_errors=True)


def test_image_holds_software_but_no_identity(baked: Baked) -> None:
    """The baked root runs `edge --version`, has both units enabled and the model, and holds
    no private key (no PEM private key block, no *.key file) and an empty machine id."""
    root = baked.root
    assert recap(baked.run.stdout)["failed"] == 0
    version = in_root(root, "/opt/warehouse-edge/venv/bin/edge", "--version")
    assert version.returncode == 0, version.stderr
    for unit in ("warehouse-edge.service", "warehouse-edge-firstboot.service"):
        enabled = in_root(root, "systemctl", "is-enabled", unit)
        assert enabled.stdout.strip() == "enabled", unit + enabled.stdout + enabled.stderr
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    model = root / "opt/warehouse-edge/models" / MODEL.name
    assert hashlib.sha256(model.read_bytes()).hexdigest() == sha
    assert f'model_sha256 = "{sha}"' in (root / "etc/warehouse-edge/node.toml").read_text()
    assert (root / "boot/firmware/warehouse-edge.txt").is_file()
    assert private_keys(root, *SECRET_DIRS) == []
    assert not (root / SIGNING_KEY).exists()
    assert not list((root / "etc/warehouse-edge/tls").iterdir())
    assert (root / "etc/machine-id").read_text() == ""  # made at first boot, one per card


def test_image_holds_no_wheelhouse_leftovers(baked: Baked) -> None:
    """Once the venv is installed the dependency wheels are of no use on a card: the image
    holds no wheelhouse (no *.tar, no dependency *.whl) outside the venv, in /opt, /root,
    /tmp or /var (about 290 MB before; the warehouse-edge wheel itself may stay, < 16 MiB)."""
    found = [
        path
        for top in ("opt", "root", "tmp", "var")
        for path in (baked.root / top).rglob("*")
        if path.is_file() and not path.is_symlink() and path.name.endswith((".tar", ".whl"))
    ]
    deps = [p for p in found if p.suffix == ".tar" or not p.name.startswith("warehouse_edge-")]
    assert deps == [], [str(p.relative_to(baked.root)) for p in deps]
    assert sum(p.stat().st_size for p in found) < 16 << 20, found


def test_bake_refuses_an_image_without_the_model(tmp_path: Path) -> None:
    """The documented bake without -e model stops before it touches the root, with one
    message saying how to name the model (or model=none for a motion-only image)."""
    inventory = tmp_path / "image.ini"
    inventory.write_text(f"image ansible_host={tmp_path / 'no-root'}\n")
    run = playbook("bake.yml", inventory, "-c", "community.general.chroot", "-e", "board=rpi")
    assert run.returncode != 0
    assert "bake.yml needs the person model: -e model=PATH" in run.stdout, run.stdout[-3000:]
    assert not (tmp_path / "no-root").exists()


def _exec_lines() -> list[str]:
    """The first-boot unit's ExecStart= command lines, in order."""
    return re.findall(r"^ExecStart=(.+)$", FIRSTBOOT.read_text(), re.M)


def _has_edge_pki(root: Path) -> bool:
    return in_root(root, "/opt/warehouse-edge/venv/bin/edge", "pki", "--help").returncode == 0


def _openssl_fallback(root: Path) -> None:
    """What `edge pki csr` would do, until that command exists: an EC P-256 key (0600) and a
    CSR with the host name as common name."""
    tls = root / "etc/warehouse-edge/tls"
    subprocess.run(
        [
            *("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-keyout", str(tls / "node.key"), "-out", str(tls / "node.csr")),
            *("-subj", f"/CN={HOSTNAME}"),
        ],
        check=True,
        capture_output=True,
    )
    (tls / "node.key").chmod(0o600)


def test_first_boot_makes_the_keys_on_the_node(
    baked: Baked, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ExecStart of warehouse-edge-firstboot.service, run in the root as systemd would
    ("+": as root, otherwise as User=warehouse-edge; %H the host name), leaves a 0600 signing
    key owned by the service user, a 0600 TLS key and a CSR naming the host, and empty
    certificate placeholders (the daemon then waits for enrolment); the unit's
    condition is the signing key, so it does not run again."""
    root = baked.root
    assert not (root / SIGNING_KEY).exists()
    lines = _exec_lines()
    assert len(lines) == 3 and lines[0].startswith("+") and "edge pki csr" in lines[0]
    pki = _has_edge_pki(root)
    with capsys.disabled():
        print(f"\nfirst boot TLS key and CSR: {'edge pki csr' if pki else 'openssl fallback'}")
    for line in lines:
        command = line.replace("%H", HOSTNAME)
        if command.startswith("+"):
            if "edge pki" in command and not pki:
                _openssl_fallback(root)
                continue
            done = in_root(root, "sh", "-c", command[1:])
        else:
            done = in_root(root, "sh", "-c", command, user="warehouse-edge")
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    signing = root / SIGNING_KEY
    tls_key = root / "etc/warehouse-edge/tls/node.key"
    csr = root / "etc/warehouse-edge/tls/node.csr"
    for key in (signing, tls_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert b"PRIVATE KEY-----" in key.read_bytes()
    owner = in_root(root, "stat", "-c", "%U", "/" + SIGNING_KEY)
    assert owner.stdout.strip() == "warehouse-edge"
    assert stat.S_IMODE(csr.stat().st_mode) & 0o022 == 0
    subject = subprocess.run(
        ["openssl", "req", "-in", str(csr), "-noout", "-subject", "-verify"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert HOSTNAME in subject.stdout
    for placeholder in ("node.crt", "site-ca.crt"):  # LoadCredential= needs them; empty
        assert (root / "etc/warehouse-edge/tls" / placeholder).read_bytes() == b""
    assert f"ConditionPathExists=!/{SIGNING_KEY}" in FIRSTBOOT.read_text()
