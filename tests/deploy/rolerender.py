"""The warehouse_edge role's variable check and node.toml template run on their own for one
host (no chroot, no install): what its host vars render to, in seconds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from debroot import DEPLOY, tool

ROLE = DEPLOY / "roles/warehouse_edge"


def render(tmp_path: Path, host_vars: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the role's variable check and its node.toml template for one host whose host
    vars are *host_vars* (the role's defaults beneath them, as in a play); the run and the
    rendered file."""
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "host_vars").mkdir(exist_ok=True)
    shutil.copy(ROLE / "defaults/main.yml", tmp_path / "group_vars/all.yml")
    (tmp_path / "host_vars/gudang-01.yml").write_text(host_vars)
    (tmp_path / "inv.ini").write_text("[edge_nodes]\ngudang-01 ansible_connection=local\n")
    out = tmp_path / "node.toml"
    (tmp_path / "render.yml").write_text(f"""
- hosts: edge_nodes
  gather_facts: false
  tasks:
    - ansible.builtin.import_tasks: {ROLE / "tasks/validate.yml"}
    - ansible.builtin.template:
        src: {ROLE / "templates/node.toml.j2"}
        dest: {out}
        mode: "0644"
""")
    env = dict(os.environ, ANSIBLE_FILTER_PLUGINS=str(ROLE / "filter_plugins"))
    argv = [tool("ansible-playbook"), "-i", str(tmp_path / "inv.ini"), "-e"]
    argv += [f"ansible_python_interpreter={sys.executable}", str(tmp_path / "render.yml")]
    run = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    return run, out
