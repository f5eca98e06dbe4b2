"""The CA key under a passphrase (from a file or the file $EDGE_PKI_PASSPHRASE_FILE names,
never the command line; read only when something is signed), the CRL renewed only when
needed, and a node's certificate kept by `edge pki node-cert`: signed, left, or for a new
key refused unless --replace, which revokes the old one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from pkicli import edge_pki, load_cert, node_csr

SECRET = "twelve chars or more"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A 0600 passphrase file."""
    path = tmp_path / "pass"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def ca(tmp_path: Path, secret: Path) -> Path:
    """An encrypted CA."""
    d = tmp_path / "ca"
    assert edge_pki("init-ca", "--ca-dir", d, "--name", "site CA", "--passphrase-file", secret) == 0
    return d


def test_init_ca_needs_a_passphrase_source_and_encrypts_the_key(
    tmp_path: Path, ca: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a file, the variable or a terminal init-ca exits 1 naming both ways and
    makes nothing; a short passphrase is refused; a passphrase on the command line is not
    an option (usage, exit 2); --no-passphrase with a file is a usage error; the key made
    with one is encrypted PKCS#8."""
    assert (ca / "ca.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    capsys.readouterr()
    assert edge_pki("init-ca", "--ca-dir", tmp_path / "x", "--name", "x") == 1
    err = capsys.readouterr().err
    assert "--passphrase-file" in err and "EDGE_PKI_PASSPHRASE_FILE" in err
    assert not (tmp_path / "x").exists()
    short = tmp_path / "short"
    short.write_text("short\n")
    short.chmod(0o600)
    assert (
        edge_pki("init-ca", "--ca-dir", tmp_path / "y", "--name", "y", "--passphrase-file", short)
        == 1
    )
    assert "at least 12" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        edge_pki("init-ca", "--ca-dir", tmp_path / "z", "--name", "z", "--passphrase", SECRET)
    assert usage.value.code == 2
    both = ("--no-passphrase", "--passphrase-file", secret)
    assert edge_pki("init-ca", "--ca-dir", tmp_path / "w", "--name", "w", *both) == 2


def test_signing_reads_the_passphrase_from_the_file_the_variable_names(
    tmp_path: Path, ca: Path, secret: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """sign without a passphrase exits 1 (no terminal); with a wrong one 1, 'wrong
    passphrase'; with a world-readable file 1; with $EDGE_PKI_PASSPHRASE_FILE 0."""
    _k, csr = node_csr(tmp_path, "wh-01")
    out = tmp_path / "wh-01.crt"
    args = ("sign", "--ca-dir", ca, "--csr", csr, "--out", out)
    capsys.readouterr()
    assert edge_pki(*args) == 1 and "passphrase" in capsys.readouterr().err
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    wrong.chmod(0o600)
    assert edge_pki(*args, "--passphrase-file", wrong) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    secret.chmod(0o644)
    assert edge_pki(*args, "--passphrase-file", secret) == 1
    assert "readable by others" in capsys.readouterr().err
    secret.chmod(0o600)
    monkeypatch.setenv("EDGE_PKI_PASSPHRASE_FILE", str(secret))
    assert edge_pki(*args) == 0 and not (ca / "ca.key").read_bytes().count(b"BEGIN PRIVATE")


def test_crl_renewal_reads_the_key_only_when_needed(
    tmp_path: Path, ca: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh CRL: 'still valid' without any passphrase; a window not shorter than the
    validity is refused; a damaged crl.pem and one behind the index (a revocation since)
    are renewed, each saying why."""
    capsys.readouterr()
    assert edge_pki("crl", "--ca-dir", ca, "--renew-within", "30") == 0
    assert capsys.readouterr().out.startswith("pki: CRL still valid until ")
    assert edge_pki("crl", "--ca-dir", ca, "--renew-within", "45", "--days", "45") == 1
    assert "less than the CRL's validity" in capsys.readouterr().err
    renew = ("crl", "--ca-dir", ca, "--renew-within", "30", "--passphrase-file", secret)
    (ca / "crl.pem").write_text("garbage")
    assert edge_pki(*renew) == 0
    assert "renewed until" in (out := capsys.readouterr().out) and "unreadable" in out
    old = (ca / "crl.pem").read_bytes()
    _k, csr = node_csr(tmp_path, "wh-01")
    sign = ("sign", "--ca-dir", ca, "--csr", csr, "--out", tmp_path / "c", "--passphrase-file")
    assert edge_pki(*sign, secret) == 0
    assert (
        edge_pki("revoke", "--ca-dir", ca, "--cert", tmp_path / "c", "--passphrase-file", secret)
        == 0
    )
    (ca / "crl.pem").write_bytes(old)
    capsys.readouterr()
    assert edge_pki(*renew) == 0
    assert "does not list what the index revoked" in capsys.readouterr().out
    crl = x509.load_pem_x509_crl((ca / "crl.pem").read_bytes())
    assert len(crl) == 1 and crl.next_update_utc is not None
    assert (crl.next_update_utc - dt.datetime.now(dt.UTC)).days == 44


def test_node_cert_signs_keeps_and_replaces_only_when_asked(
    tmp_path: Path, ca: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """First run 'signed'; again 'valid' (no passphrase needed); a new key for the same
    node is refused naming the node and both ways out, the certificate untouched; with
    --replace 'replaced', the old serial revoked on the CRL and the new key certified."""
    out = tmp_path / "out" / "node.crt"
    _k, csr = node_csr(tmp_path / "a", "wh-01")
    run = ("node-cert", "--ca-dir", ca, "--csr", csr, "--out", out, "--cn", "wh-01")
    capsys.readouterr()
    assert edge_pki(*run, "--passphrase-file", secret) == 0
    assert capsys.readouterr().out.startswith("signed wh-01 serial ")
    assert edge_pki(*run) == 0 and capsys.readouterr().out.startswith("valid wh-01 serial ")
    old = load_cert(out)
    _k, new_csr = node_csr(tmp_path / "b", "wh-01")
    csr.write_bytes(new_csr.read_bytes())
    assert edge_pki(*run, "--passphrase-file", secret) == 1
    err = capsys.readouterr().err
    assert "node wh-01" in err and "-e replace=true" in err and "--replace" in err
    assert load_cert(out).serial_number == old.serial_number
    assert edge_pki(*run, "--replace", "--passphrase-file", secret) == 0
    line = capsys.readouterr().out
    assert line.startswith("replaced wh-01 serial ") and f"revoked {old.serial_number:x}" in line
    crl = x509.load_pem_x509_crl((ca / "crl.pem").read_bytes())
    assert [r.serial_number for r in crl] == [old.serial_number]
    assert load_cert(out).public_key() == x509.load_pem_x509_csr(csr.read_bytes()).public_key()
