"""A Debian bookworm root made by debootstrap from the machine's own apt mirror, cached as a
tarball keyed by its package list, and Ansible runs into it through the chroot connection."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MODEL = ROOT.parent / "shared" / "models" / "yolox_nano" / "yolox_nano.onnx"
# What the roles install with apt, already in the root: the playbook then needs no download.
PACKAGES = (
    "python3",
    "python3-venv",
    "python3-packaging",
    "python3-systemd",
    "systemd",
    "sudo",
    "chrony",
)
SUITE = "bookworm"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/warehouse-edge-tests (~/.cache when unset): roots and wheelhouse."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "warehouse-edge-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    files = [*sorted(Path("/etc/apt").glob("sources.list.d/*")), Path("/etc/apt/sources.list")]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
        for line in text.splitlines():
            m = re.match(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", line)
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def need_root_tools() -> None:
    """Skip unless root with debootstrap and the chroot connection (CI has all three)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap not installed (make apt-test)")


def base_tarball() -> Path:
    """The debootstrap root as a tarball, made once per package list and mirror."""
    url = mirror()
    key = hashlib.sha256(f"{SUITE} {url} {','.join(PACKAGES)}".encode()).hexdigest()[:12]
    tar = cache_dir() / f"debootstrap-{SUITE}-{key}.tar"
    if tar.exists():
        return tar
    work = cache_dir() / f"debootstrap-{key}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(work),
            url,
        ],
        check=True,
        capture_output=True,
    )
    partial = tar.with_suffix(".partial")
    subprocess.run(
        ["tar", "--numeric-owner", "-cpf", str(partial), "-C", str(work), "."], check=True
    )
    partial.rename(tar)
    shutil.rmtree(work)
    return tar


def fresh_root(dest: Path) -> Path:
    """A fresh copy of the cached root at *dest*."""
    dest.mkdir(parents=True)
    subprocess.run(
        ["tar", "--numeric-owner", "-xpf", str(base_tarball()), "-C", str(dest)], check=True
    )
    return dest


def build_wheel(dest: Path) -> Path:
    """The warehouse-edge wheel, built once for a test module (the roles build one per run;
    a test passes this one so that others editing the tree meanwhile change nothing)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(ROOT)],
        check=True,
        capture_output=True,
        env=dict(os.environ, SOURCE_DATE_EPOCH="315532800"),
    )
    (wheel,) = dest.glob("warehouse_edge-*.whl")
    return wheel


def tool(name: str) -> str:
    """A console script of this venv (ansible-playbook, ansible-lint)."""
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} not installed (pip extra 'deploy')"
    return path


@functools.cache
def lint_deploy() -> subprocess.CompletedProcess[str]:
    """`ansible-lint --offline --profile production` over all of deploy/ (every role and
    playbook, the police hosts' included), run once per test process: the tests that need
    their part of deploy/ lint-clean share the one run."""
    return subprocess.run(
        [tool("ansible-lint"), "--offline", "--nocolor", "--profile", "production", "."],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def playbook(playbook: str, inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run *playbook* of deploy/ with deploy/ansible.cfg; the output is kept for asserts."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(DEPLOY / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return subprocess.run(
        [tool("ansible-playbook"), "-i", str(inventory), playbook, *extra],
        cwd=DEPLOY,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def recap(output: str) -> dict[str, int]:
    """The PLAY RECAP counters of the one host (ok, changed, failed...)."""
    m = re.search(r"PLAY RECAP \*+\n\S+\s*: (.*)", output)
    assert m, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def statuses(output: str, task: str) -> list[str]:
    """How each run of the tasks whose name holds *task* ended (ok, changed, skipping,
    failed, fatal), read from the default callback's output."""
    out = []
    for block in output.split("\nTASK [")[1:]:
        head, _, body = block.partition("\n")
        if task in head:
            out += re.findall(r"^(ok|changed|skipping|failed|fatal): ", body, re.M)
    return out


def in_root(root: Path, *argv: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run *argv* inside *root* (as *user* when given); output captured."""
    spec = [f"--userspec={user}:{user}"] if user else []
    return subprocess.run(
        ["chroot", *spec, str(root), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )


PEM_PRIVATE = re.compile(rb"^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?$", re.M)


def private_keys(root: Path, *under: str) -> list[Path]:
    """Files below *under* (in *root*) holding a PEM private key block, or named *.key."""
    found = []
    for top in under:
        base = root / top.lstrip("/")
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            with path.open("rb") as f:
                head = f.read(1 << 16)
            if path.suffix == ".key" or PEM_PRIVATE.search(head):
                found.append(path)
    return found
