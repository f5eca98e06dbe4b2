"""Revocation: a certificate of this CA put on its list, and the CRL (``crl.pem``, signed by
the CA) that the police broker reads (mosquitto ``crlfile``). A CRL past its next update
makes OpenSSL refuse every client: re-issue it (``edge pki crl``) well before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from edge.pki.ca import (
    CRL,
    PkiError,
    SiteCA,
    append_index,
    now,
    parse_serial,
    read_index,
    serial_hex,
    write_file,
)

CRL_DAYS = 45
"""Default validity of a CRL (its next update): a daily renewal at CRL_RENEW_WITHIN days
left has two weeks of slack."""
CRL_RENEW_WITHIN = 30
"""`edge pki crl --renew-within`'s default: re-issue when fewer days than this are left."""


def revoked_serials(ca_dir: Path) -> dict[int, dt.datetime]:
    """Serial -> revocation time of every certificate revoked in *ca_dir*'s index."""
    revoked: dict[int, dt.datetime] = {}
    for record in read_index(ca_dir):
        if record.get("action") == "revoked":
            serial = parse_serial(str(record["serial"]))
            revoked.setdefault(serial, dt.datetime.fromisoformat(str(record["time"])))
    return revoked


def issued_serials(ca_dir: Path) -> set[int]:
    """Serials of every certificate *ca_dir*'s CA issued (its index)."""
    return {
        parse_serial(str(r["serial"])) for r in read_index(ca_dir) if r.get("action") == "issued"
    }


def serial_of(ca: SiteCA, cert_path: Path) -> int:
    """Serial of the certificate at *cert_path*; PkiError unless this CA issued it."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as e:
        raise PkiError(f"{cert_path}: not a readable PEM certificate: {e}") from e
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature) as e:
        raise PkiError(f"{cert_path}: not issued by the CA in {ca.dir}") from e
    return cert.serial_number


def issue_crl(ca: SiteCA, days: int = CRL_DAYS) -> x509.CertificateRevocationList:
    """Write a fresh CRL of every revoked serial to ``crl.pem``, next update in *days*."""
    if days < 1:
        raise PkiError(f"CRL validity must be at least 1 day, got {days}")
    start = now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(start - dt.timedelta(minutes=5))
        .next_update(start + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(int(start.timestamp() * 1000)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    for serial, when in sorted(revoked_serials(ca.dir).items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(ca.key, hashes.SHA256())
    write_file(ca.dir / CRL, crl.public_bytes(serialization.Encoding.PEM))
    return crl


def revoke(
    ca_dir: Path,
    *,
    cert_path: Path | None = None,
    serial: str | None = None,
    crl_days: int = CRL_DAYS,
    passphrase: bytes | None = None,
) -> tuple[int, bool]:
    """Revoke a certificate of this CA (by file or hex serial) and re-issue the CRL (the
    CA key decrypted with *passphrase*). Returns (serial, newly revoked); revoking twice
    changes nothing but the CRL's date."""
    ca = SiteCA.load(ca_dir, passphrase)
    if (cert_path is None) == (serial is None):
        raise PkiError("name the certificate: --cert PATH or --serial HEX")
    number = serial_of(ca, cert_path) if cert_path is not None else parse_serial(serial or "")
    if number not in issued_serials(ca_dir):
        raise PkiError(f"serial {serial_hex(number)} is not in {ca_dir}'s index of issued certs")
    new = number not in revoked_serials(ca_dir)
    if new:
        append_index(
            ca_dir, {"action": "revoked", "serial": serial_hex(number), "time": now().isoformat()}
        )
    issue_crl(ca, crl_days)
    return number, new
