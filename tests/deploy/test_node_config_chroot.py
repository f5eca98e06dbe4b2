"""Masks through Ansible, on a copy of the installed node (one run of site.yml): a node that
ran with a hand-edited mask gets the host vars' mask back from site.yml (the change shows in
``--diff``), and the daemon's next start writes the change into its audit log, naming the
camera with the old and new mask hash. docs/node-config.md's commands run here as written,
each as the user and where the doc says."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from debroot import DEPLOY, ROOT, in_root, recap
from installed import Install
from synth import write_video
from timing import wait_until

from edge.config.loader import loads
from edge.evidence.audit import verify_log
from edge.node.sharing_audit import STATE_NAME, masks_sha256

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "node-config.md"
NODE = "smg-utara-01"
EDGE = "/opt/warehouse-edge/venv/bin/edge"
CONFIG = "etc/warehouse-edge/node.toml"
DATA = "var/lib/warehouse-edge"
VIDEO = "/opt/warehouse-edge/gudang-a.mp4"
CREDS = "/run/credentials/warehouse-edge.service"
MASK_A = [[12, 20], [148, 20], [148, 170], [12, 170]]
MASK_B = [[12, 20], [160, 20], [160, 170], [12, 170]]


def doc_blocks() -> list[list[str]]:
    """The command lines of each ```sh block the doc says this test runs, in order."""
    blocks = []
    for part in DOC.read_text().split("<!-- the commands below are run by ")[1:]:
        if part.startswith("tests/deploy/test_node_config_chroot.py"):
            block = part.split("```sh\n", 1)[1].split("```", 1)[0]
            blocks.append([line for line in block.splitlines() if line.strip()])
    return blocks


def _camera(mask: list[list[int]], *, as_yaml: bool) -> str:
    """gudang-a (the synthetic video as its stream) with one privacy mask and a zone."""
    if as_yaml:
        return f"""  - name: gudang-a
    detect: {{kind: file, path: {VIDEO}, loop: true, realtime: true}}
    resolution: [640, 360]
    privacy_masks:
      - {{name: pintu kantor kepala gudang, points: {mask}}}
    zones:
      - {{name: dok-muat, points: [[200, 180], [500, 180], [500, 350], [200, 350]]}}
"""
    return f"""
[[cameras]]
name = "gudang-a"
resolution = [640, 360]

[cameras.detect]
kind = "file"
path = "{VIDEO}"
loop = true
realtime = true

[[cameras.privacy_masks]]
name = "pintu kantor kepala gudang"
points = {mask}

[[cameras.zones]]
name = "dok-muat"
points = [[200, 180], [500, 180], [500, 350], [200, 350]]
"""


HOST_VARS = f"""warehouse_edge_cameras:
{_camera(MASK_B, as_yaml=True)}  - name: ruang-ganti
    private: true
    detect: rtsp://10.20.0.13:554/stream2
warehouse_edge_police:
  cameras: [gudang-a]
warehouse_edge_rules:
  schedules:
    - {{name: jam-kerja, days: [mon, tue, wed, thu, fri, sat], start: "07:00", end: "17:00"}}
  arming:
    - {{zone: gudang-a/dok-muat, disarmed_during: [jam-kerja]}}
"""
"""The host vars site.yml gets: mask B on gudang-a, a private camera, the police given
gudang-a only, schedules and arming (no GPIO: the chroot has no pin library)."""


def _deploy_dir(tmp: Path, install: Install, root: Path) -> Path:
    """A deploy/ of links to the real one, with the installed inventory pointed at *root*
    (the host named as the doc names it, a node only) and host_vars for it."""
    repo = tmp / "repo"
    deploy = repo / "deploy"
    deploy.mkdir(parents=True)
    for entry in DEPLOY.iterdir():
        if entry.name not in ("inventory.ini", "host_vars", "group_vars"):
            (deploy / entry.name).symlink_to(entry)
    for entry in ROOT.iterdir():
        if entry.name != "deploy":
            (repo / entry.name).symlink_to(entry)
    inventory = install.inventory.read_text()
    inventory = inventory.replace(str(install.root), str(root))
    inventory = inventory.replace("\nnode ansible_host", f"\n{NODE} ansible_host")
    inventory = re.sub(r"(\[receivers\]\n)[^\n]*\n", r"\1", inventory)  # a node only
    (deploy / "inventory.ini").write_text(inventory)
    (deploy / "host_vars").mkdir()
    (deploy / "host_vars" / f"{NODE}.yml").write_text(HOST_VARS)
    return deploy


def _start_node(root: Path, camera_mask: list[list[int]]) -> str:
    """Start the daemon as systemd would (service user, credentials folder) and stop it
    once it has settled what it shares (its sharing.json names *camera_mask*'s hash)."""
    cfg = loads((root / CONFIG).read_text(), env={"CREDENTIALS_DIRECTORY": str(root)})
    want = masks_sha256(next(c for c in cfg.cameras if c.name == "gudang-a"))
    assert _mask_of(root) == camera_mask, "node.toml holds another mask"
    argv = ["chroot", "--userspec=warehouse-edge:warehouse-edge", str(root), "env"]
    argv += [f"CREDENTIALS_DIRECTORY={CREDS}", EDGE, "run", "--config", f"/{CONFIG}"]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        settled = wait_until(lambda: _shared_hash(root) == want, timeout=90, step=0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    log = out.decode(errors="replace")
    assert settled, log[-4000:]
    return log


def _mask_of(root: Path) -> list[list[float]]:
    """gudang-a's (first) privacy mask in the node's node.toml."""
    cfg = tomllib.loads((root / CONFIG).read_text())
    camera = next(c for c in cfg["cameras"] if c["name"] == "gudang-a")
    return list(camera["privacy_masks"][0]["points"])


def _shared_hash(root: Path) -> str | None:
    try:
        state = json.loads((root / DATA / STATE_NAME).read_text())
    except (OSError, ValueError):
        return None
    camera = state.get("cameras", {}).get("gudang-a")
    return None if camera is None else str(camera["masks_sha256"])


def _records(root: Path) -> list[dict[str, Any]]:
    lines = (root / DATA / "audit.log").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["action"] == "sharing_change"]


def _prepare(root: Path) -> None:
    """The camera's video, the credentials folder the unit would make, and gudang-a with
    mask A added to node.toml by hand (what site.yml is to replace)."""
    write_video(root / VIDEO.lstrip("/"), frames=60)
    creds = root / CREDS.lstrip("/")
    creds.mkdir(parents=True, exist_ok=True)
    for name in ("site-ca.crt", "node.crt", "node.key"):
        shutil.copy(root / "etc/warehouse-edge/tls" / name, creds / name)
    assert in_root(root, "chown", "-R", "warehouse-edge:", "/run/credentials").returncode == 0
    with (root / CONFIG).open("a") as f:
        f.write(_camera(MASK_A, as_yaml=False))


def test_a_mask_set_in_host_vars_reaches_the_node_and_its_audit(
    install: Install, root_copy: Callable[[Path], Path], tmp_path: Path
) -> None:
    """A node that ran with mask A (by hand) remembers it and records nothing; the doc's
    snapshot draws it; the doc's `site.yml --diff` puts mask B from the host vars into
    node.toml (the diff shows the old and new points, the check before the write was the
    full preflight) with the zone, schedules, arming, the private camera and the police's
    cameras; the daemon's next start records one sharing_change for gudang-a (old and new
    mask hash) and one for the police destination, in a chain that verifies; the doc's
    grep on the node shows them."""
    snapshot, playbook, grep = doc_blocks()
    root = root_copy(tmp_path / "root")
    _prepare(root)
    _start_node(root, MASK_A)
    assert _records(root) == []
    before = loads((root / CONFIG).read_text(), env={"CREDENTIALS_DIRECTORY": str(root)})

    (line,) = snapshot
    shot = in_root(root, "bash", "-c", line)
    assert shot.returncode == 0, shot.stdout + shot.stderr
    assert "camera gudang-a, 640x360, 1 privacy mask(s) drawn" in shot.stdout
    assert (root / "tmp/gudang-a.png").stat().st_size > 0

    deploy = _deploy_dir(tmp_path, install, root)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    (line,) = playbook
    run = subprocess.run(["bash", "-c", line], cwd=deploy, env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert run.returncode == 0 and recap(run.stdout)["failed"] == 0, run.stdout[-6000:]
    assert f"-points = {MASK_A}" in run.stdout and f"+points = {MASK_B}" in run.stdout
    text = (root / CONFIG).read_text()
    assert f"points = {MASK_B}" in text and f"points = {MASK_A}" not in text
    after = loads(text, env={"CREDENTIALS_DIRECTORY": str(root)})
    assert [c.name for c in after.cameras] == ["gudang-a", "ruang-ganti"]
    assert after.cameras[1].private and after.destinations[0].cameras == ["gudang-a"]
    assert [a.zone for a in after.rules.arming] == ["gudang-a/dok-muat"]
    assert after.rules.timezone == "Asia/Jakarta"

    _start_node(root, MASK_B)
    by_id = {r["id"]: r for r in _records(root)}
    assert set(by_id) == {"gudang-a", "ruang-ganti", "police"}, by_id
    cam = by_id["gudang-a"]
    assert cam["old_masks_sha256"] == masks_sha256(before.cameras[0])
    assert cam["new_masks_sha256"] == masks_sha256(after.cameras[0]) != cam["old_masks_sha256"]
    assert by_id["police"]["new_cameras"] == ["gudang-a"]
    assert by_id["ruang-ganti"]["old_private"] is None and by_id["ruang-ganti"]["new_private"]
    assert verify_log(root / DATA / "audit.log").ok

    (line,) = grep
    shown = in_root(root, "bash", "-c", line)
    assert shown.returncode == 0, shown.stderr
    assert [json.loads(x)["id"] for x in shown.stdout.splitlines()] == [
        r["id"] for r in _records(root)
    ]
