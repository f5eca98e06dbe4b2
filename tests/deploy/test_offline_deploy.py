"""An offline warehouse: site.yml needs no package index while the packages are there, and
fails fast with one line naming them when one is missing and no mirror answers; --check --diff
never prints a key; the collections the playbooks use are listed in requirements.yml; the
pinned wheelhouse resolves for the boards (aarch64, CPython 3.11, binary wheels only)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from debroot import DEPLOY, PEM_PRIVATE, cache_dir, playbook, recap, statuses
from installed import NODE_ID, Install

from edge.demo.pki import DemoCA

WHEELHOUSE = DEPLOY / "roles/warehouse_wheelhouse/files"
# The boards: Raspberry Pi OS / Debian bookworm, arm64 (glibc 2.36, CPython 3.11).
BOARD_PYTHON = "3.11"
BOARD_GLIBC_MINOR = 36
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")


def _collections_named() -> set[str]:
    """The collections deploy/'s playbooks, roles and config name (namespace.collection of
    each fully qualified name), ansible.builtin and ansible.legacy aside."""
    found: set[str] = set()
    for path in [*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.cfg"), *DEPLOY.rglob("*.ini")]:
        for ns, coll in FQCN.findall(path.read_text()):
            if ns in {"ansible", "community", "containers", "kubernetes", "cisco", "amazon"}:
                found.add(f"{ns}.{coll}")
    return found - {"ansible.builtin", "ansible.legacy"}


def test_requirements_yml_lists_every_collection_used() -> None:
    """deploy/requirements.yml names every collection deploy/ uses (community.general for the
    chroot connection at least), so `ansible-galaxy collection install -r requirements.yml`
    gives ansible-core alone what the playbooks need."""
    text = (DEPLOY / "requirements.yml").read_text()
    listed = set(re.findall(r"^\s*-\s*name:\s*([a-z0-9_]+\.[a-z0-9_]+)\s*$", text, re.M))
    used = _collections_named()
    assert "community.general" in used
    assert used <= listed, f"add to deploy/requirements.yml: {sorted(used - listed)}"


def test_role_tags_are_documented() -> None:
    """Every tag on the node role's task groups and on site.yml's roles is in docs/offline.md."""
    tags: set[str] = set()
    for path in (DEPLOY / "roles/warehouse_edge/tasks/main.yml", DEPLOY / "site.yml"):
        for group in re.findall(r"^\s*tags:\s*\[([^]]*)\]", path.read_text(), re.M):
            tags |= {t.strip() for t in group.split(",")} - {"always"}
    assert {"packages", "software", "model", "config", "firmware", "units"} <= tags
    doc = (DEPLOY.parent / "docs/offline.md").read_text()
    assert not [t for t in tags if f"`{t}`" not in doc], tags


def _tasks(node: object) -> list[dict[str, object]]:
    """Every task of a parsed tasks file or play list, blocks and handlers opened."""
    out: list[dict[str, object]] = []
    if isinstance(node, list):
        for item in node:
            out += _tasks(item)
    elif isinstance(node, dict):
        out.append(node)
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            out += _tasks(node.get(key))
    return out


def test_every_key_copy_hides_its_content() -> None:
    """A task of deploy/ that copies or writes a private key (its src, dest, content or loop
    names a *.key) has `diff: false` or `no_log: true`: --check --diff never prints a key."""
    writers = {"ansible.builtin.copy", "ansible.builtin.template", "ansible.builtin.fetch"}
    bare: list[str] = []
    for path in DEPLOY.rglob("*.yml"):
        for task in _tasks(yaml.safe_load(path.read_text())):
            module = next((m for m in writers if m in task), None)
            if module is None:
                continue
            said = json.dumps([task[module], task.get("loop", task.get("with_items"))])
            if re.search(r"\.key\b", said) and not (
                task.get("diff") is False or task.get("no_log") is True
            ):
                bare.append(f"{path.relative_to(DEPLOY)}: {task.get('name')}")
    assert bare == [], bare


def _index_reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=15):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_wheelhouse_resolves_for_the_boards_binary_only(tmp_path: Path) -> None:
    """The pinned requirements (node and receiver) resolve for aarch64 manylinux up to the
    boards' glibc and CPython 3.11 with binary wheels only, to exactly the pinned versions and
    nothing unpinned: the wheelhouse the roles download for a board is complete (pip reads
    the metadata only: `pip install --dry-run --report`)."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
    if not _index_reachable(index):
        pytest.skip(f"no package index reachable at {index}")
    files = [WHEELHOUSE / "requirements.txt", WHEELHOUSE / "requirements-receiver.txt"]
    platforms = [f"manylinux_2_{m}_aarch64" for m in range(17, BOARD_GLIBC_MINOR + 1)]
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"),
            *("--report", str(report), "--only-binary=:all:", "--implementation", "cp"),
            *("--python-version", BOARD_PYTHON, "--platform", "manylinux2014_aarch64"),
            *[arg for p in platforms for arg in ("--platform", p)],
            *[arg for f in files for arg in ("-r", str(f))],
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_CONSTRAINT": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    pinned = {}
    for f in files:
        for line in f.read_text().splitlines():
            if m := re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line):
                pinned[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    resolved = {
        re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): (
            i["metadata"]["version"],
            i["download_info"]["url"].rsplit("/", 1)[-1],
        )
        for i in json.loads(report.read_text())["install"]
    }
    assert {k: v[0] for k, v in resolved.items()} == pinned
    for name, (_, wheel) in resolved.items():
        assert wheel.endswith(".whl"), (name, wheel)
        tag = wheel.removesuffix(".whl").rsplit("-", 1)[-1]
        assert tag == "any" or "aarch64" in tag, (name, wheel)
    assert "lgpio" in resolved  # the Raspberry Pi's pin factory


def _playbook_file(tmp: Path, names: list[str]) -> Path:
    """A play that applies deploy/'s warehouse_packages role to the installed root."""
    path = tmp / "packages.yml"
    path.write_text(
        "- name: Packages only\n  hosts: edge_nodes\n  gather_facts: false\n  roles:\n"
        "    - role: warehouse_packages\n"
        f"      warehouse_packages_names: {json.dumps(names)}\n"
    )
    return path


@pytest.mark.slow
@pytest.mark.faults
def test_missing_package_without_mirror_fails_fast_in_one_line(
    install: Install, tmp_path: Path
) -> None:
    """On the installed (offline) root, a package that is not there and a mirror that does not
    answer: the play fails within 30 s with one message naming the missing package (and only
    it) and what to do, and changes nothing."""
    missing = "warehouse-edge-no-such-package"
    start = time.monotonic()
    run = playbook(str(_playbook_file(tmp_path, ["python3", "chrony", missing])), install.inventory)
    took = time.monotonic() - start
    assert run.returncode != 0 and took < 30, (took, run.stdout[-3000:])
    fatal = [line for line in run.stdout.splitlines() if line.startswith("fatal:")]
    assert len(fatal) == 1, run.stdout[-3000:]
    msg = json.loads(fatal[0].split("=> ", 1)[1])["msg"]
    assert f"lacks the packages {missing} and apt could not install them" in msg, msg
    assert "python3," not in msg and "Reach a Debian mirror" in msg
    assert recap(run.stdout)["changed"] == 0


@pytest.mark.slow
def test_key_change_under_check_diff_shows_no_key(install: Install, tmp_path: Path) -> None:
    """New TLS files for the node and the receiver (keys included) under --check --diff: the
    copies report changed, the output holds no private key, and the root keeps its files."""
    ca = DemoCA(tmp_path / "ca", "another site CA")
    folders = {}
    receiver = ("police-ca.crt", "receiver.crt", "receiver.key")
    for var, cn, names in (
        ("warehouse_edge_tls_dir", NODE_ID, ("site-ca.crt", "node.crt", "node.key")),
        ("warehouse_receiver_tls_dir", "polda-jateng-1", receiver),
    ):
        folder = tmp_path / var
        folder.mkdir()
        pair = ca.issue(cn)
        for src, name in zip((ca.ca_path, pair.cert, pair.key), names, strict=True):
            (folder / name).write_bytes(src.read_bytes())
        folders[var] = str(folder)
    key = install.root / "etc/warehouse-edge/tls/node.key"
    before = key.read_bytes()
    extra = ["-e", json.dumps(folders), "--check", "--diff", "--tags", "config,receiver"]
    run = playbook("site.yml", install.inventory, *extra)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert recap(run.stdout)["changed"] >= 2, out[-6000:]
    for task in ("Install TLS files (site CA", "Install TLS files (police CA"):
        assert "changed" in statuses(run.stdout, task), (task, out[-6000:])
    assert not PEM_PRIVATE.search(out.encode()) and "PRIVATE KEY" not in out
    assert key.read_bytes() == before


@pytest.mark.slow
def test_check_mode_builds_the_wheel_on_the_controller(tmp_path: Path) -> None:
    """Under --check the controller still builds the warehouse-edge wheel (its cache only),
    so the tasks after it know the wheel's name (was: `No last item, sequence was empty`)."""
    play = tmp_path / "wheel.yml"
    play.write_text(
        "- name: The wheelhouse role alone\n  hosts: all\n  roles:\n"
        "    - role: warehouse_wheelhouse\n"
        "  tasks:\n"
        "    - name: Show the wheel\n"
        "      ansible.builtin.debug:\n"
        "        msg: 'wheel={{ warehouse_wheelhouse_app }}'\n"
    )
    inventory = tmp_path / "local.ini"
    inventory.write_text(
        f"controller ansible_connection=local ansible_python_interpreter={sys.executable}\n"
        f"[all:vars]\nwarehouse_wheelhouse_dir={cache_dir() / 'wheelhouse'}\n"
        f"warehouse_wheelhouse_source={DEPLOY.parent}\n"
    )
    run = playbook(str(play), inventory, "--check")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"wheel=\S+/app/warehouse_edge-\S+\.whl", run.stdout), run.stdout[-3000:]
