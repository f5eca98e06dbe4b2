"""deploy/pki.yml run for real against this machine as the "node" (local connection): the
node's key and request are made there, the request fetched, signed on the controller with
the node id checked and the CA key's passphrase read from its file, and the certificate and
site CA copied back; a second run changes nothing, a request for another node's name (a
card booted with the wrong host name) is never signed, and a certificate near its end is
re-signed for the same key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pkicli import load_cert, node_csr
from pkiplay import init_ca, output, run_playbook

pytestmark = pytest.mark.slow  # two or three Ansible runs each


def test_playbook_signs_keeps_and_renews_the_node_certificate(tmp_path: Path) -> None:
    """After the first run the node has its key (0600), a certificate for CN=wh-01 issued by
    the site CA (its key encrypted) and the CA certificate; the CA's index has one
    certificate. A second run (61 days left, renewal at 60) reports nothing changed; a run
    renewing at 61 days re-signs it for the same key (a new serial, the node's key
    unchanged, nothing revoked)."""
    init_ca(tmp_path)
    first = run_playbook(tmp_path, "wh-01", pki_cert_days=61)
    assert first.returncode == 0, output(first)
    tls = tmp_path / "node-tls"
    assert (tls / "node.key").stat().st_mode & 0o777 == 0o600
    cert = load_cert(tls / "node.crt")
    cert.verify_directly_issued_by(load_cert(tmp_path / "ca" / "ca.crt"))
    assert cert.subject.rfc4514_string() == "CN=wh-01"
    assert (tls / "site-ca.crt").read_bytes() == (tmp_path / "ca" / "ca.crt").read_bytes()
    second = run_playbook(tmp_path, "wh-01")
    assert second.returncode == 0 and "changed=0" in second.stdout, output(second)
    assert len((tmp_path / "ca" / "index").read_text().splitlines()) == 1
    key = (tls / "node.key").read_bytes()
    renew = run_playbook(tmp_path, "wh-01", pki_renew_within_days=61)
    assert renew.returncode == 0 and "changed=2" in renew.stdout, output(renew)
    new = load_cert(tls / "node.crt")
    assert new.serial_number != cert.serial_number and new.public_key() == cert.public_key()
    assert (new.not_valid_after_utc - cert.not_valid_after_utc).days >= 700
    assert (tls / "node.key").read_bytes() == key
    assert "revoked" not in (tmp_path / "ca" / "index").read_text()


def test_playbook_refuses_a_request_for_another_name(tmp_path: Path) -> None:
    """A card that booted as 'raspberrypi' (its first-boot request has that CN) while the
    inventory calls it wh-01 gets no certificate: the play fails at signing, saying what it
    expected and how to recover (docs/pki.md)."""
    init_ca(tmp_path)
    key, csr = node_csr(tmp_path, "raspberrypi")
    (tmp_path / "node-tls").mkdir()
    shutil.copy(key, tmp_path / "node-tls" / "node.key")
    shutil.copy(csr, tmp_path / "node-tls" / "node.csr")
    done = run_playbook(tmp_path, "wh-01")
    text = done.stdout + done.stderr
    assert done.returncode != 0 and "expected 'wh-01'" in text, output(done)
    assert "/etc/hostname" in text and "docs/pki.md" in text
    assert not (tmp_path / "node-tls" / "node.crt").exists()
    assert not (tmp_path / "ca" / "index").exists()
