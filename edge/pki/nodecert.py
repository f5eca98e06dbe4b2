"""A node's certificate kept right by re-running one command (deploy/pki.yml does, every
run): signed when missing, left alone while it is for the request's key and far from
expiry, re-signed for the same key when it nears expiry (renewal), and, when the request
carries another key (a replacement card, a re-keyed node), refused unless replacing was
asked for: then the old certificate is revoked, the CRL re-issued and the new key signed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from edge.pki.ca import PkiError, load_ca_cert, now, serial_hex
from edge.pki.revoke import CRL_DAYS, revoke
from edge.pki.sign import common_name, read_request, sign_file

RENEW_WITHIN = 60
"""Days before expiry from which a node's certificate is re-signed (pki.yml's default)."""


@dataclass(frozen=True)
class Outcome:
    """What :func:`keep_certificate` did: ``signed``, ``renewed``, ``replaced`` or
    ``valid`` (nothing), the certificate's serial and end, and the serial revoked."""

    action: str
    serial: int
    not_after: dt.datetime
    revoked: int | None = None

    @property
    def changed(self) -> bool:
        """Whether a certificate was written."""
        return self.action != "valid"


def _existing(out: Path, ca_dir: Path) -> x509.Certificate | None:
    """The certificate at *out*, None when there is none (or an empty placeholder)."""
    try:
        data = out.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise PkiError(f"{out}: cannot read the certificate: {e.strerror or e}") from e
    if not data.strip():
        return None
    try:
        cert = x509.load_pem_x509_certificate(data)
        cert.verify_directly_issued_by(load_ca_cert(ca_dir))
    except (ValueError, TypeError, InvalidSignature) as e:
        raise PkiError(
            f"{out}: not a certificate of the CA in {ca_dir} ({e or 'bad signature'}); "
            "move it away to sign the request anew"
        ) from e
    return cert


def keep_certificate(
    ca_dir: Path,
    csr_path: Path,
    out: Path,
    *,
    cn: str,
    days: int,
    renew_within: int = RENEW_WITHIN,
    replace: bool = False,
    passphrase: Callable[[], bytes | None],
) -> Outcome:
    """Make *out* a current certificate of node *cn* for the key in *csr_path* (see the
    module). *passphrase* is called only when something must be signed."""
    if renew_within < 0 or renew_within >= days:
        raise PkiError(f"--renew-within {renew_within}: at least 0 and less than --days {days}")
    csr = read_request(csr_path, role="node", servers=[], expect_cn=cn)
    old = _existing(out, ca_dir)
    revoked: int | None = None
    if old is None:
        action = "signed"
    elif old.public_key() == csr.public_key():
        left = old.not_valid_after_utc - now()
        if left > dt.timedelta(days=renew_within):
            return Outcome("valid", old.serial_number, old.not_valid_after_utc)
        action = "renewed"
    elif not replace:
        raise PkiError(
            f"node {cn}: its request {csr_path} is for a new key, not the key of its "
            f"certificate {out} (serial {serial_hex(old.serial_number)}): a replacement card "
            "or a re-keyed node. If so, re-run with -e replace=true (pki.yml) or --replace "
            "(edge pki node-cert): the old certificate is revoked and the new key signed. If not, "
            "find out why the node has a new key before trusting it"
        )
    else:
        action = "replaced"
        secret = passphrase()
        revoked, _ = revoke(ca_dir, cert_path=out, crl_days=CRL_DAYS, passphrase=secret)
        cert = sign_file(
            ca_dir, csr_path, out, days=days, force=True, expect_cn=cn, passphrase=secret
        )
        return Outcome(action, cert.serial_number, cert.not_valid_after_utc, revoked)
    assert common_name(csr, str(csr_path)) == cn
    cert = sign_file(
        ca_dir, csr_path, out, days=days, force=True, expect_cn=cn, passphrase=passphrase()
    )
    return Outcome(action, cert.serial_number, cert.not_valid_after_utc, revoked)
