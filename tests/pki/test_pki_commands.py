"""`edge pki`: a site CA made once, node keys made on the node and never replaced, requests
signed only when their signature and CN are right, revocation into a CA-signed CRL."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from pkicli import edge_pki, load_cert, node_csr, raw_csr


def mode(path: Path) -> int:
    """Permission bits of *path*."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    """A CA made by `edge pki init-ca`."""
    d = tmp_path / "ca"
    assert (
        edge_pki(
            "init-ca", "--dir", d, "--name", "ams-north site CA", "--days", "100", "--no-passphrase"
        )
        == 0
    )
    return d


def _eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_init_ca_makes_a_private_ca_and_never_replaces_it(
    ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key is 0600 in a 0700 directory; the certificate is a CA for --days with the
    given name; an empty CRL is there; a second init-ca exits 1 and leaves the key as it
    was."""
    assert mode(ca_dir) == 0o700 and mode(ca_dir / "ca.key") == 0o600
    cert = load_cert(ca_dir / "ca.crt")
    assert cert.subject.rfc4514_string() == "CN=ams-north site CA"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    days = (cert.not_valid_after_utc - dt.datetime.now(dt.UTC)).days
    assert 98 <= days <= 100
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert len(crl) == 0 and crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
    key = (ca_dir / "ca.key").read_bytes()
    capsys.readouterr()
    assert edge_pki("init-ca", "--dir", ca_dir, "--name", "again", "--no-passphrase") == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (ca_dir / "ca.key").read_bytes() == key


def test_csr_makes_a_private_key_and_refuses_to_replace_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The node's key is EC P-256, 0600, in a 0700 directory it made; the request names the
    node id and is signed by that key; a second run exits 1 with a clear message and the key
    is unchanged."""
    key, csr_path = node_csr(tmp_path, "wh-ams-01")
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    assert csr.subject.rfc4514_string() == "CN=wh-ams-01" and csr.is_signature_valid
    assert csr.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    before = key.read_bytes()
    capsys.readouterr()
    assert edge_pki("csr", "--key", key, "--csr", csr_path, "--cn", "wh-ams-01") == 1
    err = capsys.readouterr().err
    assert str(key) in err and "refusing to overwrite" in err
    assert key.read_bytes() == before


def test_csr_refuses_a_name_unfit_for_an_acl(tmp_path: Path) -> None:
    """A CN with an MQTT wildcard or a slash (it becomes the broker user name) is refused
    and no key is left behind."""
    for bad in ("wh/01", "wh+01", "#", ""):
        key = tmp_path / "k" / "node.key"
        assert edge_pki("csr", "--key", key, "--csr", tmp_path / "r.csr", "--cn", bad) == 1
        assert not key.exists()


def test_sign_issues_a_client_certificate_and_records_it(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The node's certificate is issued by the CA for the request's key, client auth only,
    not a CA, without server names; the printed serial is in the index; an existing
    certificate is not overwritten without --force; --expect-cn refuses a request for
    another name."""
    _key, csr = node_csr(tmp_path, "wh-ams-01")
    out = tmp_path / "wh-ams-01.crt"
    capsys.readouterr()
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out) == 0
    serial = capsys.readouterr().out.strip()
    cert = load_cert(out)
    cert.verify_directly_issued_by(load_cert(ca_dir / "ca.crt"))
    assert cert.subject.rfc4514_string() == "CN=wh-ams-01"
    assert f"{cert.serial_number:x}" == serial
    assert _eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    csr_key = x509.load_pem_x509_csr(csr.read_bytes()).public_key()
    assert cert.public_key() == csr_key
    index = [json.loads(line) for line in (ca_dir / "index").read_text().splitlines()]
    assert index == [
        {**index[0], "action": "issued", "serial": serial, "cn": "wh-ams-01", "role": "node"}
    ]
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out) == 1
    capsys.readouterr()
    assert (
        edge_pki(
            "sign",
            "--ca-dir",
            ca_dir,
            "--csr",
            csr,
            "--out",
            out,
            "--force",
            "--expect-cn",
            "wh-02",
        )
        == 1
    )
    assert "expected 'wh-02'" in capsys.readouterr().err
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out, "--force") == 0
    assert load_cert(out).serial_number != cert.serial_number


def test_sign_broker_gets_server_auth_and_names(tmp_path: Path, ca_dir: Path) -> None:
    """--role broker --server NAME: server auth only, the names (DNS and IP) as SAN;
    a broker without --server and a node with --server are refused."""
    _key, csr = node_csr(tmp_path, "mqtt.police.example")
    out = tmp_path / "broker.crt"
    args: list[str | Path] = [
        "sign",
        "--ca-dir",
        ca_dir,
        "--csr",
        csr,
        "--out",
        out,
        "--role",
        "broker",
    ]
    assert edge_pki(*args) == 1
    assert edge_pki(*args, "--server", "mqtt.police.example", "--server", "10.0.0.9") == 0
    cert = load_cert(out)
    assert _eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH}
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mqtt.police.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.9"]
    _k, node = node_csr(tmp_path, "wh-01")
    assert (
        edge_pki(
            "sign",
            "--ca-dir",
            ca_dir,
            "--csr",
            node,
            "--out",
            tmp_path / "n.crt",
            "--server",
            "wh-01",
        )
        == 1
    )


@pytest.mark.parametrize(
    ("cn", "role", "why"),
    [
        ("WH-01", "node", "not a valid node id"),
        ("wh.01", "node", "not a valid node id"),
        ("receiver-hq", "node", "for receivers"),
        ("police-hq", "receiver", "must start with 'receiver-'"),
    ],
)
def test_sign_refuses_a_cn_unfit_for_the_role(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str], cn: str, role: str, why: str
) -> None:
    """A node's CN must be a valid node id (and not look like a receiver); a receiver's must
    start with receiver-: exit 1 naming the reason, no certificate, nothing in the index."""
    csr = raw_csr(tmp_path / "r.csr", cn)
    out = tmp_path / "x.crt"
    capsys.readouterr()
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out, "--role", role) == 1
    assert why in capsys.readouterr().err
    assert not out.exists() and not (ca_dir / "index").exists()


def test_sign_refuses_a_request_with_a_bad_signature(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request altered after it was signed (its CN changed on the way) is refused."""
    csr = raw_csr(tmp_path / "r.csr", "wh-aaa")
    der = x509.load_pem_x509_csr(csr.read_bytes()).public_bytes(Encoding.DER)
    forged = der.replace(b"wh-aaa", b"wh-bbb")
    assert forged != der
    pem = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(forged)
    pem += b"-----END CERTIFICATE REQUEST-----\n"
    csr.write_bytes(pem)
    out = tmp_path / "x.crt"
    capsys.readouterr()
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out) == 1
    assert "signature is not valid" in capsys.readouterr().err and not out.exists()


def test_revoke_lists_the_serial_in_a_signed_crl(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Revoking by file and by serial puts both serials in crl.pem, signed by the CA, next
    update in --crl-days; revoking again is harmless; `crl` re-issues with both still on it;
    a certificate of another CA and an unknown serial are refused."""
    serials = []
    for cn in ("wh-01", "wh-02"):
        _k, csr = node_csr(tmp_path, cn)
        capsys.readouterr()
        out = tmp_path / f"{cn}.crt"
        assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", out) == 0
        serials.append(capsys.readouterr().out.strip())
    assert edge_pki("revoke", "--ca-dir", ca_dir, "--cert", tmp_path / "wh-01.crt") == 0
    assert edge_pki("revoke", "--ca-dir", ca_dir, "--serial", serials[1], "--crl-days", "7") == 0
    assert edge_pki("revoke", "--ca-dir", ca_dir, "--serial", serials[1].upper()) == 0
    ca_cert = load_cert(ca_dir / "ca.crt")
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
    assert sorted(f"{r.serial_number:x}" for r in crl) == sorted(serials)
    assert edge_pki("crl", "--ca-dir", ca_dir, "--days", "30") == 0
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert sorted(f"{r.serial_number:x}" for r in crl) == sorted(serials)
    assert crl.next_update_utc is not None
    assert 29 <= (crl.next_update_utc - dt.datetime.now(dt.UTC)).days <= 30
    other = tmp_path / "other"
    assert edge_pki("init-ca", "--dir", other, "--name", "other", "--no-passphrase") == 0
    _k, csr = node_csr(tmp_path, "wh-09")
    assert edge_pki("sign", "--ca-dir", other, "--csr", csr, "--out", tmp_path / "w9.crt") == 0
    capsys.readouterr()
    assert edge_pki("revoke", "--ca-dir", ca_dir, "--cert", tmp_path / "w9.crt") == 1
    assert "not issued by the CA" in capsys.readouterr().err
    assert edge_pki("revoke", "--ca-dir", ca_dir, "--serial", "abc123") == 1
    assert "not in" in capsys.readouterr().err


def test_a_world_readable_ca_key_is_refused(
    tmp_path: Path, ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signing with a CA key others may read is refused until it is 0600 again."""
    _k, csr = node_csr(tmp_path, "wh-01")
    (ca_dir / "ca.key").chmod(0o644)
    capsys.readouterr()
    assert edge_pki("sign", "--ca-dir", ca_dir, "--csr", csr, "--out", tmp_path / "c") == 1
    assert "readable by others" in capsys.readouterr().err
