"""What the deploy tests share: one root with site.yml run into it twice (session
scope: several modules check it), then once more with --check --diff, and copies of it for
tests that change what they get. The second run is an offline site's: the root's apt sources
name a mirror that does not answer and its package lists are two days old."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from debroot import (
    MODEL,
    build_wheel,
    cache_dir,
    fresh_root,
    need_root_tools,
    playbook,
)

from edge.demo.pki import DemoCA

NODE_ID = "smg-utara-01"
SITE = "semarang-gudang-utara"


# The fixture runs site.yml three times on a machine that may be busy: the first test to ask
# for it waits that long (pytest's default timeout is 300 s per test, setup included).
FIXTURE_TIMEOUT_S = 1200


def give_install_its_timeout(items: list[pytest.Item]) -> None:
    """Give every test that uses the shared root the fixture's timeout (any of them may be
    the one that builds it); an explicit timeout marker of the test's own wins."""
    for item in items:
        if "install" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "timeout"
        ):
            item.add_marker(pytest.mark.timeout(FIXTURE_TIMEOUT_S))


# A mirror that never answers (the discard port of this machine: connection refused).
OFFLINE_MIRROR = "http://127.0.0.1:9/debian"


@dataclass(frozen=True)
class Install:
    """A root after two runs of site.yml (the second offline) and a third with --check
    --diff, what each run printed, and the inventory they used."""

    root: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    seconds: tuple[float, float]
    check: subprocess.CompletedProcess[str]
    inventory: Path


def go_offline(root: Path) -> None:
    """Point *root*'s apt at a mirror that does not answer and age its package lists (and
    apt's stamps) by two days: what a warehouse without internet looks like to apt."""
    (root / "etc/apt/sources.list").write_text(f"deb {OFFLINE_MIRROR} bookworm main\n")
    for extra in (root / "etc/apt/sources.list.d").glob("*"):
        extra.unlink()
    old = time.time() - 2 * 86400
    for folder in ("var/lib/apt/lists", "var/lib/apt/periodic", "var/cache/apt"):
        base = root / folder
        for path in [base, *base.rglob("*")] if base.exists() else []:
            if not path.is_symlink():
                os.utime(path, (old, old))


def _tls(tmp: Path) -> tuple[Path, Path]:
    """The node's and the receiver's TLS folders, as pki.yml would leave them."""
    ca = DemoCA(tmp / "ca", "semarang site CA")
    node, receiver = tmp / "pki-node", tmp / "pki-receiver"
    for folder, cn, names in (
        (node, NODE_ID, ("site-ca.crt", "node.crt", "node.key")),
        (receiver, "polda-jateng-1", ("police-ca.crt", "receiver.crt", "receiver.key")),
    ):
        folder.mkdir()
        pair = ca.issue(cn)
        for src, name in zip((ca.ca_path, pair.cert, pair.key), names, strict=True):
            shutil.copy(src, folder / name)
    return node, receiver


@pytest.fixture(scope="session")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    """A fresh root with site.yml run into it twice (node and receiver in one host; the
    second run offline) and a third time with --check --diff."""
    need_root_tools()
    if not MODEL.exists():
        pytest.skip(f"{MODEL} missing (../shared)")
    tmp = tmp_path_factory.mktemp("chroot")
    root = fresh_root(tmp / "root")
    node_tls, receiver_tls = _tls(tmp)
    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    inventory = tmp / "inventory.ini"
    inventory.write_text(
        f"""[edge_nodes]
node ansible_host={root} ansible_connection=community.general.chroot

[receivers]
node ansible_host={root} ansible_connection=community.general.chroot

[all:vars]
warehouse_wheelhouse_dir={cache_dir() / "wheelhouse"}
warehouse_wheelhouse_wheel={build_wheel(tmp / "dist")}
warehouse_edge_node_id={NODE_ID}
warehouse_edge_site={SITE}
warehouse_edge_board=rpi
warehouse_edge_timezone=Asia/Jakarta
warehouse_edge_police_host=mqtt.polda-jateng.example
warehouse_edge_tls_dir={node_tls}
warehouse_edge_model_src={MODEL}
warehouse_edge_model_sha256={sha}
warehouse_receiver_name=polda-jateng-1
warehouse_receiver_broker_host=mqtt.polda-jateng.example
warehouse_receiver_tls_dir={receiver_tls}
warehouse_receiver_postgres_url=postgresql://warehouse-receiver@/warehouse
"""
    )
    runs, seconds = [], []
    for n in range(2):
        if n == 1:
            go_offline(root)
        start = time.monotonic()
        runs.append(playbook("site.yml", inventory))
        seconds.append(time.monotonic() - start)
        assert runs[-1].returncode == 0, runs[-1].stdout[-6000:] + runs[-1].stderr[-2000:]
    check = playbook("site.yml", inventory, "--check", "--diff")
    yield Install(root, runs[0], runs[1], (seconds[0], seconds[1]), check, inventory)
    shutil.rmtree(tmp, ignore_errors=True)


def copy_root(install: Install, dest: Path) -> Path:
    """A private copy of the installed root at *dest* (owners, modes and links kept), for a
    test that changes the node (a new config, a replacement card) without touching others'."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(install.root), str(dest)], check=True)
    return dest


@contextlib.contextmanager
def private_root(install: Install, dest: Path) -> Iterator[Path]:
    """A writable view of the installed root at *dest* that leaves the root untouched: an
    overlay mount (instant; its upper and work folders beside *dest*) where the kernel allows
    one, else a copy (copy_root: about 2 GB, 10-30 s). Unmounted on leaving; the root must not
    change meanwhile (the deploy tests run on one worker, one module at a time)."""
    upper, work = dest.with_name(f"{dest.name}.upper"), dest.with_name(f"{dest.name}.work")
    for folder in (upper, work, dest):
        folder.mkdir(parents=True)
    # redirect_dir=on: a folder of the root may be renamed (as on a card), not EXDEV
    options = f"lowerdir={install.root},upperdir={upper},workdir={work},redirect_dir=on"
    mount = ["mount", "-t", "overlay", "overlay", "-o", options, str(dest)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        dest.rmdir()
        yield copy_root(install, dest)
        return
    try:
        yield dest
    finally:
        subprocess.run(["umount", "--lazy", str(dest)], check=False)


@pytest.fixture
def root_copy(install: Install) -> Iterator[Callable[[Path], Path]]:
    """Factory: ``root_copy(dest)`` is a private writable view of the installed root at
    *dest* (private_root), for a test that changes the node (a new config, a replacement
    card) without touching others'; undone at teardown."""
    with contextlib.ExitStack() as stack:

        def make(dest: Path) -> Path:
            return stack.enter_context(private_root(install, dest))

        yield make
