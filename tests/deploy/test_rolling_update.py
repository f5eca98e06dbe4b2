"""deploy/update.yml for real, over two copies of the installed node root (chroot connection)
and a third node it must never reach: a release with a bumped version goes to the first node;
the second, whose model file no longer matches its config, fails the health gate and is rolled
back; the run stops there naming it. docs/fleet.md's commands run exactly as written. Also: a
node keeps its releases and no wheelhouse."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from debroot import DEPLOY, MODEL, ROOT, cache_dir, in_root, tool
from installed import Install, private_root

from edge import __version__

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "fleet.md"
MARK = "<!-- the commands below are run by tests/deploy/test_rolling_update.py"
NEW_VERSION = f"{__version__}+rollout2"
PREFIX = "opt/warehouse-edge"
EDGE = f"/{PREFIX}/venv/bin/edge"
MODEL_ON_NODE = f"{PREFIX}/models/{MODEL.name}"


def doc_block(n: int) -> str:
    """The *n*-th ```sh block after a test marker in docs/fleet.md."""
    part = DOC.read_text().split(MARK)[n + 1]
    return part.split("```sh\n", 1)[1].split("```", 1)[0]


def new_wheel(tmp: Path) -> Path:
    """The warehouse-edge wheel of this tree with the version bumped to NEW_VERSION (the tree
    copied, its version set there, built as the role builds it)."""
    src = tmp / "src"
    shutil.copytree(ROOT / "edge", src / "edge", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    init = src / "edge" / "__init__.py"
    text = init.read_text()
    assert f'__version__ = "{__version__}"' in text
    init.write_text(text.replace(f'"{__version__}"', f'"{NEW_VERSION}"'))
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        env=dict(os.environ, SOURCE_DATE_EPOCH="315532800"),
    )
    (wheel,) = dist.glob("warehouse_edge-*.whl")
    return wheel


def link(root: Path, name: str) -> str:
    """Where /opt/warehouse-edge/<name> points (as written), '' when absent."""
    path = root / PREFIX / name
    return os.readlink(path) if path.is_symlink() else ""


def releases(root: Path) -> list[str]:
    """The release folders the node keeps."""
    return sorted(p.name for p in (root / PREFIX / "releases").iterdir())


def version(root: Path) -> str:
    """What the unit's path prints for ``edge --version``."""
    done = in_root(root, EDGE, "--version")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


@dataclass(frozen=True)
class Rolled:
    """Two node roots after update.yml, their state before, and what the run printed."""

    first: Path
    second: Path
    before: str
    run: subprocess.CompletedProcess[str]
    seconds: float


@pytest.fixture(scope="module")
def rolled(install: Install, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rolled]:
    """update.yml, as docs/fleet.md gives it, over copies of the installed root: the second
    one's model altered on the card (its hash no longer the config's); a third node that does
    not exist comes after them."""
    tmp = tmp_path_factory.mktemp("rolling")
    with contextlib.ExitStack() as roots:
        first = roots.enter_context(private_root(install, tmp / "node1"))
        second = roots.enter_context(private_root(install, tmp / "node2"))
        yield _roll(first, second, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def _roll(first: Path, second: Path, tmp: Path) -> Rolled:
    """update.yml over *first* and *second* (the second's model altered first)."""
    with (second / MODEL_ON_NODE).open("ab") as f:
        f.write(b"\0")
    before = link(first, "current")
    work = tmp / "deploy"
    work.mkdir()
    for name in ("update.yml", "roles", "ansible.cfg"):
        (work / name).symlink_to(DEPLOY / name)
    hosts = "\n".join(
        f"smg-utara-0{i} ansible_host={root} ansible_connection=community.general.chroot"
        for i, root in enumerate((first, second, tmp / "never-reached"), start=1)
    )
    (work / "inventory.ini").write_text(
        f"""[edge_nodes]
{hosts}

[all:vars]
warehouse_wheelhouse_dir={cache_dir() / "wheelhouse"}
warehouse_wheelhouse_wheel={new_wheel(tmp)}
"""
    )
    (command,) = doc_block(0).strip().splitlines()
    env = dict(os.environ, ANSIBLE_CONFIG=str(DEPLOY / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{Path(tool('ansible-playbook')).parent}:{env.get('PATH', '')}"
    start = time.monotonic()
    run = subprocess.run(
        ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    return Rolled(first, second, before, run, time.monotonic() - start)


def test_installed_node_keeps_one_release_and_no_wheelhouse(install: Install) -> None:
    """After site.yml (twice): one release with its stamp, current and venv links to it, no
    wheelhouse tar or unpacked wheels under the prefix or in Ansible's temporary folders (the
    app wheel alone is kept, a few MB at most), no previous release yet."""
    root = install.root
    (release,) = releases(root)
    assert release.startswith(f"{__version__}-")
    stamp = (root / PREFIX / "releases" / release / "installed").read_text()
    assert f"version {__version__}\n" in stamp and "sha256 " in stamp
    assert link(root, "current") == f"releases/{release}"
    assert link(root, "venv") == "current/venv" and link(root, "previous") == ""
    for leftover in ("wheelhouse.tar", "wheels", f"releases/{release}/wheels"):
        assert not (root / PREFIX / leftover).exists(), leftover
    wheels = [p for p in (root / PREFIX).rglob("*.whl") if "site-packages" not in p.parts]
    assert [p.name for p in wheels] == [f"warehouse_edge-{__version__}-py3-none-any.whl"]
    tars = [p for d in ("root/.ansible", "tmp") for p in (root / d).rglob("*.tar")]
    assert tars == []
    assert sum(p.stat().st_size for p in wheels) < 20 * 2**20


# Run alone, this test builds the shared root too (installed.py gives 1200 s for that) before
# its own playbook run over two copies of it.
@pytest.mark.timeout(1800)
def test_first_node_updated_second_rolled_back_run_stopped(
    rolled: Rolled, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first node runs the new version through the unit's path, the old release kept as
    previous; the second failed its gate on its model (a real preflight failure with the new
    release), is back on its old release (links and ``edge --version``) with the failed one
    removed; the run fails naming it and never reaches the third node."""
    with capsys.disabled():
        print(f"\nupdate.yml over two chroot nodes: {rolled.seconds:.0f} s")
    out = rolled.run.stdout + rolled.run.stderr
    assert rolled.run.returncode != 0, out[-4000:]
    assert f"smg-utara-02: release {NEW_VERSION}-" in out and "FAILED its health gate" in out
    assert "model_sha256" in out or "sha256" in out.split("FAILED its health gate", 1)[1]
    assert f"rolled back to {rolled.before.removeprefix('releases/')}" in out
    assert "edge status after the restart SKIPPED" in out
    recap = out.split("PLAY RECAP", 1)[1]
    assert "smg-utara-03" not in recap and "never-reached" not in out
    assert [line.split()[0] for line in recap.splitlines()[1:] if "failed=1" in line] == [
        "smg-utara-02"
    ]

    first, second = rolled.first, rolled.second
    assert version(first) == NEW_VERSION
    assert link(first, "previous") == rolled.before
    new = link(first, "current").removeprefix("releases/")
    assert new.startswith(f"{NEW_VERSION}-") and releases(first) == sorted(
        [new, rolled.before.removeprefix("releases/")]
    )
    unit_path = in_root(first, "readlink", "-f", EDGE).stdout.strip()
    assert unit_path == f"/{PREFIX}/releases/{new}/venv/bin/edge"
    assert not (first / PREFIX / "releases" / new / "wheels").exists()

    assert version(second) == __version__
    assert link(second, "current") == rolled.before and link(second, "previous") == ""
    assert releases(second) == [rolled.before.removeprefix("releases/")]
    unit_path = in_root(second, "readlink", "-f", EDGE).stdout.strip()
    assert unit_path == f"/{PREFIX}/{rolled.before}/venv/bin/edge"


@pytest.mark.timeout(1800)
def test_rollback_by_hand_as_documented(rolled: Rolled) -> None:
    """docs/fleet.md's rollback, run as written in the updated node's root as root: current
    and previous swap and the unit's path runs the old version again."""
    first = rolled.first
    new = link(first, "current")
    done = in_root(first, "/bin/bash", "-euc", doc_block(1))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == [rolled.before, new, "edge", __version__]
    assert link(first, "current") == rolled.before and link(first, "previous") == new
    assert version(first) == __version__


def test_model_hash_command_as_documented() -> None:
    """docs/fleet.md's model hash command, in the model's folder: the sha256 the role checks."""
    if not MODEL.exists():
        pytest.skip(f"{MODEL} missing (../shared)")
    done = subprocess.run(
        ["bash", "-c", doc_block(2)], cwd=MODEL.parent, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [hashlib.sha256(MODEL.read_bytes()).hexdigest(), MODEL.name]
