"""docs/police.md's commands, run exactly as written: the broker's and the receiver's
certificates in the PKI folder of the technician's home (a temporary HOME with the site CA
of docs/pki.md), broker.yml twice (the second changed=0) and revoke.yml against a broker
host on this machine (tests/deploy/policehost.py), and the PostgreSQL set-up as the users it
names against a private PostgreSQL (Debian's package) on its default socket path. Also: the
one PostgreSQL user name is the same in the docs, the inventory example and the role."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from pg import PgServer
from policehost import DEPLOY, PoliceHost, broker_host, pki
from timing import wait_until

from edge.demo.broker import free_port

DOC = DEPLOY.parent / "docs" / "police.md"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the role chowns to root; runuser needs root"),
]


def block(name: str) -> list[tuple[str, str]]:
    """(command, expected output) of the ```sh block after ``<!-- tested: NAME``."""
    text = DOC.read_text()
    after = text.split(f"<!-- tested: {name} ", 1)[1]
    body = after.split("```sh\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, str]] = []
    for line in body.splitlines():
        if line.startswith("# -> "):
            steps[-1] = (steps[-1][0], line.removeprefix("# -> "))
        elif line.strip():
            steps.append((line, ""))
    return steps


def run_block(name: str, host: PoliceHost, cwd: Path) -> None:
    """Run block *name* as written, as one bash script (``set -e``, so every line must
    succeed) in *cwd*; its output holds each thing the docs say it prints."""
    steps = block(name)
    script = "set -e\n" + "\n".join(command for command, _ in steps) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=host.env,
                          capture_output=True, text=True, check=False, timeout=400)  # fmt: skip
    assert done.returncode == 0, (name, done.stdout[-3000:], done.stderr[-3000:])
    for _, expected in steps:
        assert expected in done.stdout + done.stderr, (name, expected, done.stdout[-3000:])


def controller(tmp: Path) -> tuple[PoliceHost, Path]:
    """The technician's deploy/ (the playbooks and roles of this repository, the test's
    inventory.ini naming this machine as broker mqtt.polda-jateng.example) and HOME with
    the site CA (docs/pki.md) and smg-utara-01's certificate where pki.yml leaves it."""
    home, deploy = tmp / "home", tmp / "deploy"
    deploy.mkdir(parents=True)
    for name in ("ansible.cfg", "roles", "broker.yml", "revoke.yml", "receiver.yml"):
        (deploy / name).symlink_to(DEPLOY / name)
    pkidir = home / ".local/share/warehouse-edge/pki"
    host = broker_host(
        deploy,
        free_port(),
        {
            "police_broker_tls_src": "~/.local/share/warehouse-edge/pki/broker",
            "police_broker_nodes": [{"id": "smg-utara-01", "site": "semarang-gudang-utara"}],
            "police_broker_receivers": ["receiver-polda-jateng-1"],
        },
        name="mqtt.polda-jateng.example",
    )
    host.env |= {"HOME": str(home)}
    host.env.pop("XDG_DATA_HOME", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGE_PKI_PASSPHRASE_FILE", host.env["EDGE_PKI_PASSPHRASE_FILE"])
        pki("init-ca", "--ca-dir", pkidir / "ca", "--name", "semarang-gudang-utara site CA")
        node = deploy / "pki" / "smg-utara-01"
        pki("csr", "--key", tmp / "node.key", "--csr", node / "node.csr", "--cn", "smg-utara-01")
        pki("sign", "--ca-dir", pkidir / "ca", "--csr", node / "node.csr",
            "--out", node / "node.crt", "--expect-cn", "smg-utara-01")  # fmt: skip
    return host, deploy


def test_the_documented_broker_commands_run_as_written(tmp_path: Path) -> None:
    """The certificates block, broker.yml twice (changed=0 the second time) and the
    revocation (its confirmation printed); the receiver's folder then holds police-ca.crt,
    receiver.crt and receiver.key (0600), and the broker's CRL lists the node's serial."""
    host, deploy = controller(tmp_path)
    try:
        run_block("certs", host, deploy)
        rx = tmp_path / "home/.local/share/warehouse-edge/pki/receiver-polda-jateng-1"
        assert {p.name for p in rx.iterdir()} >= {"police-ca.crt", "receiver.crt", "receiver.key"}
        assert (rx / "receiver.key").stat().st_mode & 0o777 == 0o600
        run_block("broker", host, deploy)
        assert wait_until(host.pid, 10)
        run_block("revoke", host, deploy)
        crl = x509.load_pem_x509_crl((host.etc / "tls" / "crl.pem").read_bytes())
        cert = deploy / "pki" / "smg-utara-01" / "node.crt"
        serial = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
        assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    finally:
        host.stop()


class PeerPg(PgServer):
    """A PostgreSQL whose superuser is ``postgres``, as Debian's package makes it (the
    commands find its socket through PGHOST and PGPORT)."""

    USER = "postgres"


def test_the_documented_postgres_setup_runs_as_the_users_it_names(tmp_path: Path) -> None:
    """``sudo -u postgres createuser warehouse-receiver`` and ``createdb -O ...`` as written,
    as the postgres user (sudo -u is runuser -u here: the test host has no sudo), against a
    private PostgreSQL: the role exists and owns the database ``warehouse``. The docs, the
    inventory example, the role's defaults and its spec name the same user."""
    server = PeerPg("edge")
    server.start()
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "sudo").write_text('#!/bin/sh\n[ "$1" = -u ] || exit 2\nu=$2; shift 2\n'
                               'exec runuser -u "$u" -- "$@"\n')  # fmt: skip
    (shim / "sudo").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{server.bindir}:{os.environ['PATH']}",
           "PGHOST": str(server.sockdir), "PGPORT": str(server.port)}  # fmt: skip
    try:
        for command, _ in block("postgres"):
            done = subprocess.run(["bash", "-ec", command], env=env, cwd="/",
                                  capture_output=True, text=True, check=False)  # fmt: skip
            assert done.returncode == 0, (command, done.stderr)
        with psycopg.connect(server.url_for("postgres")) as db:
            row = db.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'warehouse'"
            ).fetchone()
        assert row == ("warehouse-receiver",)
    finally:
        server.stop()
    url = "postgresql://warehouse-receiver@/warehouse"
    inventory = (DEPLOY / "inventory.example.ini").read_text()
    assert f"warehouse_receiver_postgres_url={url}" in inventory
    role = DEPLOY / "roles" / "warehouse_receiver"
    assert "warehouse_receiver_user: warehouse-receiver" in (role / "defaults/main.yml").read_text()
    assert url in (role / "defaults/main.yml").read_text()
    assert url in DOC.read_text()
    assert not re.search(r"postgresql://receiver@", DOC.read_text() + inventory)
