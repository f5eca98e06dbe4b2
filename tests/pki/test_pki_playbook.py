"""deploy/pki.yml run for real against this machine as the "node" (local connection): the
node's key and request are made there, the request fetched, signed on the controller with
the node id checked, and the certificate and site CA copied back; a second run changes
nothing, and a request for another node's name is never signed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pkicli import edge_pki, load_cert, node_csr

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "deploy" / "pki.yml"

pytestmark = pytest.mark.slow  # two Ansible runs each


def run_playbook(tmp: Path, node_id: str) -> subprocess.CompletedProcess[str]:
    """deploy/pki.yml for one node *node_id* whose TLS directory is *tmp*/node-tls."""
    edge = shutil.which("edge", path=str(Path(sys.executable).parent))
    assert edge, "the edge console script is not installed in this venv"
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    assert playbook, "ansible-playbook not installed (pip extra 'deploy')"
    inventory = tmp / "inventory.ini"
    inventory.write_text(
        f"[edge_nodes]\nnode1 ansible_connection=local warehouse_edge_node_id={node_id}\n"
    )
    extra = {
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,
        "pki_ca_dir": str(tmp / "ca"),
        "pki_out_dir": str(tmp / "out"),
        "pki_edge": edge,
        "pki_node_edge": edge,
        "pki_node_tls_dir": str(tmp / "node-tls"),
        "pki_restart_node": False,
    }
    return subprocess.run(
        [playbook, "-i", str(inventory), "-e", json.dumps(extra), str(PLAYBOOK)],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_playbook_signs_the_node_and_installs_its_certificate(tmp_path: Path) -> None:
    """After the run the node has its key (0600), a certificate for CN=wh-01 issued by the
    site CA and the CA certificate; the CA's index has one certificate; a second run
    reports nothing changed and issues nothing."""
    assert (
        edge_pki("init-ca", "--dir", tmp_path / "ca", "--name", "site CA", "--no-passphrase") == 0
    )
    first = run_playbook(tmp_path, "wh-01")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    tls = tmp_path / "node-tls"
    assert (tls / "node.key").stat().st_mode & 0o777 == 0o600
    cert = load_cert(tls / "node.crt")
    cert.verify_directly_issued_by(load_cert(tmp_path / "ca" / "ca.crt"))
    assert cert.subject.rfc4514_string() == "CN=wh-01"
    assert (tls / "site-ca.crt").read_bytes() == (tmp_path / "ca" / "ca.crt").read_bytes()
    second = run_playbook(tmp_path, "wh-01")
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout[-3000:]
    assert len((tmp_path / "ca" / "index").read_text().splitlines()) == 1


def test_playbook_refuses_a_request_for_another_name(tmp_path: Path) -> None:
    """A node whose request names wh-99 while the inventory calls it wh-01 gets no
    certificate: the play fails at signing, saying what it expected."""
    assert (
        edge_pki("init-ca", "--dir", tmp_path / "ca", "--name", "site CA", "--no-passphrase") == 0
    )
    key, csr = node_csr(tmp_path, "wh-99")
    (tmp_path / "node-tls").mkdir()
    shutil.copy(key, tmp_path / "node-tls" / "node.key")
    shutil.copy(csr, tmp_path / "node-tls" / "node.csr")
    done = run_playbook(tmp_path, "wh-01")
    assert done.returncode != 0 and "expected 'wh-01'" in done.stdout + done.stderr
    assert not (tmp_path / "node-tls" / "node.crt").exists()
    assert not (tmp_path / "ca" / "index").exists()
