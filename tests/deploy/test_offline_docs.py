"""docs/offline.md's commands, run exactly as written in a deploy/ folder whose inventory.ini
is the installed root's (the shared chroot, after its offline re-run): each exits 0, the tag
list names every documented tag, and neither the check nor the tagged run changes anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from debroot import DEPLOY, ROOT, recap
from installed import Install

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "offline.md"
MARKER = (
    "<!-- the commands below are run by tests/deploy/test_offline_docs.py exactly as written, "
    "on a provisioned root -->"
)
TAGS = ("node", "receiver", "packages", "users", "software", "model", "config", "firmware", "units")


def doc_commands() -> list[str]:
    """The command lines of the tested block."""
    block = DOC.read_text().split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def site_copy(tmp: Path, inventory: Path) -> Path:
    """A deploy/ folder beside links to the rest of the repository (the roles find
    ../systemd and ../firmware_config as in the tree) holding the site's inventory.ini."""
    for entry in ROOT.iterdir():
        if entry.name not in {"deploy", ".git", ".venv"}:
            (tmp / entry.name).symlink_to(entry)
    deploy = tmp / "deploy"
    deploy.mkdir()
    for entry in DEPLOY.iterdir():
        (deploy / entry.name).symlink_to(entry)
    shutil.copy(inventory, deploy / "inventory.ini")
    return deploy


def test_the_documented_offline_commands_run_as_written(install: Install, tmp_path: Path) -> None:
    """Each command of the block exits 0 in deploy/ (cwd) with the venv's tools on PATH;
    `--list-tags` names the documented tags, the check and the model-only run on the
    provisioned, offline root report changed=0."""
    deploy = site_copy(tmp_path, install.inventory)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    commands = doc_commands()
    assert len(commands) == 5, commands
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=deploy,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        out = done.stdout + done.stderr
        fatal = [line for line in out.splitlines() if "fatal:" in line or "ERROR" in line]
        assert done.returncode == 0, (command, fatal, out[-4000:])
        if "--list-tags" in command:
            assert all(tag in done.stdout for tag in TAGS), done.stdout
        elif "ansible-playbook" in command:
            assert recap(done.stdout)["changed"] == 0, (command, out[-6000:])
        elif "collection list" in command:
            assert "community.general" in done.stdout, out
