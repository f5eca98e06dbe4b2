"""docs/pki.md's controller commands run exactly as written, in one technician's shell
(a HOME of the test's own; this venv's edge and ansible-playbook on PATH): the encrypted CA
in its default place outside the repository, the CRL renewal, the git ignores, Ansible
Vault, and the replacement flow through deploy/pki.yml with the defaults it documents (the
CA found in the default directory, the passphrase through $EDGE_PKI_PASSPHRASE_FILE): the
new card refused, then with -e replace=true the old certificate revoked, and a real
mosquitto started from the police_broker role's rendered config with the new CRL refuses
the old card and accepts the new one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from pkibroker import RoleBroker
from pkidocs import Runner, Shell

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NODE = "smg-utara-01"


def environment(home: Path) -> dict[str, str]:
    """The technician's environment: *home*, this venv first on PATH, no PKI settings."""
    drop = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "EDGE_PKI_PASSPHRASE_FILE", "ANSIBLE_CONFIG")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "HOME": str(home), "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"}


def runner(home: Path, cwd: Path) -> Runner:
    """Run one documented command (a bash script) as the technician in *cwd*."""

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script],
            cwd=cwd,
            env=environment(home),
            capture_output=True,
            text=True,
            check=False,
            timeout=240,
        )

    return run


def edge(home: Path, *argv: str | Path) -> None:
    """``edge ARGV`` as the technician, with the passphrase file the docs export."""
    env = environment(home)
    env["EDGE_PKI_PASSPHRASE_FILE"] = str(home / ".config/warehouse-edge/ca-passphrase")
    done = subprocess.run(
        [str(BIN / "edge"), *map(str, argv)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (argv, done.stderr)


def deploy_dir(tmp: Path, tls: Path) -> Path:
    """A deploy/ of the test's own: pki.yml (linked) and an inventory.ini whose node
    smg-utara-01 is this machine, its TLS folder *tls*."""
    deploy = tmp / "deploy"
    (deploy / "host_vars" / "polda-jateng-1").mkdir(parents=True)
    (deploy / "pki.yml").symlink_to(ROOT / "deploy" / "pki.yml")
    (deploy / "inventory.ini").write_text(
        f"[edge_nodes]\n{NODE} ansible_connection=local\n\n[edge_nodes:vars]\n"
        f"ansible_python_interpreter={sys.executable}\nansible_become=false\n"
        f"pki_node_edge={BIN / 'edge'}\npki_node_tls_dir={tls}\npki_restart_node=false\n"
    )
    return deploy


@pytest.mark.slow
def test_the_documented_controller_commands_run_as_written(tmp_path: Path) -> None:
    """ca: the CA made encrypted in ~/.local/share/warehouse-edge/pki/ca, its CRL still
    valid; git: the PKI output and inventories ignored; vault: the host's vault file
    encrypted; replace: a new card's request refused (exit 2, naming the node), then
    replaced: the old serial on the CRL, the new key's certificate installed; the role's
    broker with that CRL refuses the old card's certificate and accepts the new one."""
    home, tls = tmp_path / "home", tmp_path / "node-tls"
    home.mkdir()
    shell = Shell()
    shell.run("ca", runner(home, home))
    ca = home / ".local/share/warehouse-edge/pki/ca"
    assert (ca / "ca.key").stat().st_mode & 0o777 == 0o600
    ignored = shell.run("git", runner(home, ROOT))[0].stdout.split()
    assert len(ignored) == 3, ignored
    deploy = deploy_dir(tmp_path, tls)
    vault = deploy / "host_vars" / "polda-jateng-1" / "vault.yml"
    vault.write_text("warehouse_receiver_postgres_url: postgresql://receiver:pw@db/warehouse\n")
    shell.run("vault", runner(home, deploy))
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    out = deploy / "pki" / NODE
    old_key = tmp_path / "old-card" / "node.key"
    edge(home, "pki", "csr", "--key", old_key, "--csr", out / "node.csr", "--cn", NODE)
    edge(
        home, "pki", "node-cert", "--csr", out / "node.csr", "--out", out / "node.crt", "--cn", NODE
    )
    old = x509.load_pem_x509_certificate((out / "node.crt").read_bytes())
    (tmp_path / "old-card" / "node.crt").write_bytes((out / "node.crt").read_bytes())
    edge(home, "pki", "csr", "--key", tls / "node.key", "--csr", tls / "node.csr", "--cn", NODE)
    (tls / "node.crt").write_bytes(b"")  # the first boot's placeholder
    shell.run("replace", runner(home, deploy))
    crl = x509.load_pem_x509_crl((ca / "crl.pem").read_bytes())
    assert [r.serial_number for r in crl] == [old.serial_number]
    new = x509.load_pem_x509_certificate((tls / "node.crt").read_bytes())
    csr = x509.load_pem_x509_csr((tls / "node.csr").read_bytes())
    assert new.public_key() == csr.public_key() != old.public_key()
    broker_tls = tmp_path / "broker-tls"
    b_key, b_csr, b_crt = (broker_tls / n for n in ("broker.key", "b.csr", "broker.crt"))
    edge(home, "pki", "csr", "--key", b_key, "--csr", b_csr, "--cn", "localhost")
    edge(
        home,
        "pki",
        "sign",
        "--csr",
        b_csr,
        "--out",
        b_crt,
        "--role",
        "broker",
        "--server",
        "localhost",
    )
    broker = RoleBroker(
        tmp_path / "broker",
        ca / "ca.crt",
        broker_tls / "broker.crt",
        broker_tls / "broker.key",
        ca / "crl.pem",
        [NODE],
    )
    broker.dir.mkdir()
    broker.render()
    broker.start()
    try:
        assert not broker.accepts(NODE, tmp_path / "old-card" / "node.crt", old_key)
        assert broker.accepts(NODE, tls / "node.crt", tls / "node.key"), broker.log()
    finally:
        broker.stop()
