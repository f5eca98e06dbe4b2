"""A dead node replaced by a new card (the same node id, a new key): deploy/pki.yml
(local connection, the node's TLS folder the test's own) refuses the new card's request by
default, naming the node and the way out, and installs nothing; with -e replace=true it
revokes the old certificate, re-issues the CRL and installs a certificate for the new key.
A real mosquitto started from the police_broker role's rendered config with that CRL
refuses the old card's certificate and accepts the new one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from pkibroker import RoleBroker
from pkiplay import init_ca, output, passphrase_file, run_playbook, venv_tool

pytestmark = pytest.mark.slow  # three Ansible runs and a broker


def edge(*argv: str | Path) -> None:
    """``edge ARGV`` (as on the controller), which must succeed."""
    done = subprocess.run(
        [venv_tool("edge"), *map(str, argv)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (argv, done.stderr)


def new_card(tls: Path) -> None:
    """What a replacement card's first boot leaves: a new key and request, empty
    certificate placeholders (systemd/warehouse-edge-firstboot.service)."""
    for name in ("node.key", "node.csr", "node.crt", "site-ca.crt"):
        (tls / name).unlink()
    edge("pki", "csr", "--key", tls / "node.key", "--csr", tls / "node.csr", "--cn", "wh-01")
    (tls / "node.crt").write_bytes(b"")
    (tls / "site-ca.crt").write_bytes(b"")


def test_replacement_card_is_refused_then_replaced_and_the_old_one_shut_out(
    tmp_path: Path,
) -> None:
    """The old card enrolled; the new card's request is refused (exit != 0, 'node wh-01',
    '-e replace=true', nothing signed or installed: the empty placeholder stays); with
    replace=true the old serial is on the CA-signed CRL and the new certificate is for the
    new key; mosquitto with that CRL refuses the old card and accepts the new one."""
    ca = init_ca(tmp_path)
    tls, keep = tmp_path / "node-tls", tmp_path / "old-card"
    first = run_playbook(tmp_path, "wh-01")
    assert first.returncode == 0, output(first)
    keep.mkdir()
    for name in ("node.key", "node.crt"):
        shutil.copy2(tls / name, keep / name)
    index = (ca / "index").read_text()
    new_card(tls)
    refused = run_playbook(tmp_path, "wh-01")
    text = refused.stdout + refused.stderr
    assert refused.returncode != 0, output(refused)
    assert "node wh-01" in text and "-e replace=true" in text, output(refused)
    assert (tls / "node.crt").read_bytes() == b"" and (ca / "index").read_text() == index
    replaced = run_playbook(tmp_path, "wh-01", replace=True)
    assert replaced.returncode == 0, output(replaced)
    assert "replaced wh-01 serial" in replaced.stdout and "broker.yml" in replaced.stdout
    old = x509.load_pem_x509_certificate((keep / "node.crt").read_bytes())
    new = x509.load_pem_x509_certificate((tls / "node.crt").read_bytes())
    csr = x509.load_pem_x509_csr((tls / "node.csr").read_bytes())
    assert new.public_key() == csr.public_key() != old.public_key()
    crl = x509.load_pem_x509_crl((ca / "crl.pem").read_bytes())
    ca_cert = x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes())
    assert crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in crl] == [old.serial_number]
    broker_tls = tmp_path / "broker-tls"
    edge(
        "pki",
        "csr",
        "--key",
        broker_tls / "broker.key",
        "--csr",
        broker_tls / "b.csr",
        "--cn",
        "localhost",
    )
    edge(
        *("pki", "sign", "--ca-dir", ca, "--csr", broker_tls / "b.csr"),
        *("--out", broker_tls / "broker.crt", "--role", "broker", "--server", "localhost"),
        *("--passphrase-file", passphrase_file(tmp_path)),
    )
    broker = RoleBroker(
        tmp_path / "broker",
        ca / "ca.crt",
        broker_tls / "broker.crt",
        broker_tls / "broker.key",
        ca / "crl.pem",
        ["wh-01"],
    )
    broker.dir.mkdir()
    broker.render()
    broker.start()
    try:
        assert not broker.accepts("wh-01", keep / "node.crt", keep / "node.key")
        assert broker.accepts("wh-01", tls / "node.crt", tls / "node.key"), broker.log()
    finally:
        broker.stop()
