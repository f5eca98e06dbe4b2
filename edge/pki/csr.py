"""On the node: a new TLS private key (EC P-256, 0600, never leaving the node) and a
certificate signing request for it, with the node id as its common name."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.pki.ca import PkiError, key_pem, private_dir, write_file

_CN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Common names this PKI issues: a node id, ``receiver-...`` or a broker host name. No
``/``, ``+``, ``#`` or spaces: the CN is the broker's user name in its ACL."""


def check_common_name(cn: str) -> None:
    """PkiError unless *cn* is a name this PKI puts in a certificate."""
    if not _CN.fullmatch(cn):
        raise PkiError(
            f"common name {cn!r}: use letters, digits, '.', '-' and '_' "
            "(at most 64, starting with a letter or digit)"
        )


def make_csr(key_path: Path, csr_path: Path, cn: str) -> x509.CertificateSigningRequest:
    """Make a private key at *key_path* (0600; its directory 0700 when made here) and write a
    CSR for it with CN=*cn* to *csr_path*. Never replaces a key: PkiError. When the request
    cannot be written, the new key is removed again, so the command can simply be re-run."""
    check_common_name(cn)
    if key_path.exists():
        raise PkiError(f"{key_path}: a private key is already there; refusing to overwrite it")
    try:
        private_dir(key_path.parent)
        key = ec.generate_private_key(ec.SECP256R1())
        write_file(key_path, key_pem(key), mode=0o600, replace=False)
    except OSError as e:
        raise PkiError(f"{key_path}: cannot create the key: {e.strerror or e}") from e
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    try:
        csr_path.parent.mkdir(parents=True, exist_ok=True)
        write_file(csr_path, request.public_bytes(serialization.Encoding.PEM))
    except OSError as e:
        key_path.unlink(missing_ok=True)
        raise PkiError(f"{csr_path}: cannot write the request: {e.strerror or e}") from e
    return request
