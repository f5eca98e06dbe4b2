"""deploy/pki.yml run for real against this machine as the "node" (a local connection):
the node's TLS directory and the controller's CA are folders of the test's own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "deploy" / "pki.yml"
PASSPHRASE = "a long CA passphrase for the tests"


def venv_tool(name: str) -> str:
    """*name* from this venv's bin."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed in this venv"
    return found


def passphrase_file(tmp: Path) -> Path:
    """A 0600 file with the tests' CA passphrase."""
    path = tmp / "ca-passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


def init_ca(tmp: Path) -> Path:
    """An encrypted CA in *tmp*/ca (the passphrase in *tmp*/ca-passphrase)."""
    done = subprocess.run(
        [
            venv_tool("edge"),
            "pki",
            "init-ca",
            "--ca-dir",
            str(tmp / "ca"),
            "--name",
            "site CA",
            "--passphrase-file",
            str(passphrase_file(tmp)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return tmp / "ca"


def run_playbook(tmp: Path, node_id: str, **extra: Any) -> subprocess.CompletedProcess[str]:
    """deploy/pki.yml for one node *node_id* whose TLS directory is *tmp*/node-tls, the CA
    *tmp*/ca (its passphrase *tmp*/ca-passphrase), the playbook's folder *tmp*/out; *extra*
    as extra variables (``replace=True``...)."""
    inventory = tmp / "inventory.ini"
    inventory.write_text(
        f"[edge_nodes]\nnode1 ansible_connection=local warehouse_edge_node_id={node_id}\n"
    )
    variables = {
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,
        "pki_ca_dir": str(tmp / "ca"),
        "pki_ca_passphrase_file": str(tmp / "ca-passphrase"),
        "pki_out_dir": str(tmp / "out"),
        "pki_edge": venv_tool("edge"),
        "pki_node_edge": venv_tool("edge"),
        "pki_node_tls_dir": str(tmp / "node-tls"),
        "pki_restart_node": False,
        **extra,
    }
    return subprocess.run(
        [
            venv_tool("ansible-playbook"),
            "-i",
            str(inventory),
            "-e",
            json.dumps(variables),
            str(PLAYBOOK),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    """What a run printed, for failure messages."""
    return done.stdout[-4000:] + done.stderr[-2000:]
