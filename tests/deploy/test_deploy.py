"""The Ansible role: valid syntax, clean under ansible-lint, and a template that renders a
config `edge check-config` accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edge.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} not installed (pip extra 'deploy')"
    return path


def test_playbook_syntax_and_lint(tmp_path: Path) -> None:
    """`ansible-playbook --syntax-check` passes on site.yml and bake.yml, and
    `ansible-lint --profile production` on all of deploy/ (roles, playbooks)."""
    inv = tmp_path / "inv.ini"
    inv.write_text("[edge_nodes]\nnode1 ansible_connection=local\n[receivers]\nrx1\n")
    syntax = subprocess.run(
        [_tool("ansible-playbook"), "-i", str(inv), "--syntax-check", "site.yml", "bake.yml"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run(
        [_tool("ansible-lint"), "--offline", "--nocolor", "--profile", "production", "."],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_config_template_renders_a_valid_config(tmp_path: Path) -> None:
    """The role's node.toml template, rendered with cameras and sensors, passes check-config."""
    tpl = tmp_path / "render.yml"
    out = tmp_path / "node.toml"
    tpl.write_text(f"""
- hosts: localhost
  gather_facts: false
  vars:
    warehouse_edge_node_id: wh-01
    warehouse_edge_site: ams
    warehouse_edge_state_dir: /var/lib/warehouse-edge
    warehouse_edge_police_host: mqtt.police.example
    warehouse_edge_police_port: 8883
    warehouse_edge_timezone: Asia/Jakarta
    warehouse_edge_model_src: ""
    warehouse_edge_cameras:
      - {{name: bay, detect: "rtsp://10.0.0.2/sub", record: "rtsp://10.0.0.2/main"}}
      - {{name: office, private: true, detect: "rtsp://10.0.0.3/sub"}}
    warehouse_edge_sensors:
      - {{name: door, kind: door, pin: 17, cameras: [bay]}}
  tasks:
    - ansible.builtin.template:
        src: {DEPLOY / "roles/warehouse_edge/templates/node.toml.j2"}
        dest: {out}
        mode: "0644"
""")
    run = subprocess.run(
        [
            _tool("ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(tpl),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    creds = tmp_path / "creds"
    creds.mkdir()
    assert main(["check-config", "--no-preflight", "--credentials", str(creds), str(out)]) == 0
    text = out.read_text()
    assert "private = true" in text and "pin = 17" in text
    assert 'timezone = "Asia/Jakarta"' in text and "[detector]" not in text
