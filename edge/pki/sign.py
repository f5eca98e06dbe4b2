"""Signing a CSR on the technician's controller: what each role may be called and may do,
and the certificate (every extension set here; none is taken from the request)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from edge.config.node import NodeConfig
from edge.pki.ca import PkiError, SiteCA, append_index, now, serial_hex, write_file
from edge.pki.csr import check_common_name

ROLES = ("node", "receiver", "broker")
RECEIVER_PREFIX = "receiver-"
"""Receivers (read everything on the police broker) are told apart by this CN prefix."""


def check_role(cn: str, role: str, servers: list[str]) -> None:
    """PkiError unless *cn* suits *role*: a node's CN is a valid node id (the pattern of
    ``[node] id``) and never ``receiver-...``; a receiver's starts with ``receiver-``; a
    broker needs at least one server name; only a broker gets server names."""
    if role not in ROLES:
        raise PkiError(f"role {role!r}: one of {', '.join(ROLES)}")
    check_common_name(cn)
    if role == "node":
        try:
            NodeConfig.model_validate({"id": cn, "site": "site"})
        except ValidationError as e:
            raise PkiError(
                f"CN {cn!r} is not a valid node id (lower-case letters, digits, '-' and '_', "
                "starting with a letter or digit): the node's certificate CN must be its id"
            ) from e
        if cn.startswith(RECEIVER_PREFIX):
            raise PkiError(f"CN {cn!r}: names starting {RECEIVER_PREFIX!r} are for receivers")
    elif role == "receiver" and not cn.startswith(RECEIVER_PREFIX):
        raise PkiError(f"CN {cn!r}: a receiver's CN must start with {RECEIVER_PREFIX!r}")
    if role == "broker" and not servers:
        raise PkiError("a broker certificate needs --server HOSTNAME")
    if role != "broker" and servers:
        raise PkiError(f"--server is for broker certificates, not {role} ones")


def load_csr(data: bytes, source: str) -> x509.CertificateSigningRequest:
    """A CSR from PEM whose signature is valid (it was made with the key it names) and
    whose key is EC P-256/P-384 or RSA >= 2048 bits."""
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as e:
        raise PkiError(f"{source}: not a PEM certificate signing request: {e}") from e
    try:
        valid = csr.is_signature_valid
        key = csr.public_key()
    except (UnsupportedAlgorithm, ValueError) as e:
        raise PkiError(f"{source}: unusable request: {e}") from e
    if not valid:
        raise PkiError(f"{source}: the request's signature is not valid; refusing to sign it")
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1"):
            raise PkiError(f"{source}: EC curve {key.curve.name} not accepted (P-256, P-384)")
    elif not (isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048):
        raise PkiError(f"{source}: key type not accepted (EC P-256/P-384 or RSA >= 2048)")
    return csr


def common_name(csr: x509.CertificateSigningRequest, source: str) -> str:
    """The single CN of *csr*."""
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str):
        raise PkiError(f"{source}: the request must name exactly one common name")
    return names[0].value


def _san(servers: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for server in servers:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(server)))
        except ValueError:
            check_common_name(server)
            names.append(x509.DNSName(server))
    return x509.SubjectAlternativeName(names)


def issue(
    ca: SiteCA,
    csr: x509.CertificateSigningRequest,
    *,
    role: str,
    servers: list[str],
    days: int,
) -> x509.Certificate:
    """The certificate for *csr*: client auth (a broker: server auth and the *servers* as
    SAN), valid *days* but never beyond the CA."""
    cn = common_name(csr, "request")
    check_role(cn, role, servers)
    if days < 1:
        raise PkiError(f"--days must be at least 1, got {days}")
    start = now()
    end = min(start + dt.timedelta(days=days), ca.cert.not_valid_after_utc)
    rsa_key = isinstance(csr.public_key(), rsa.RSAPublicKey)  # RSA key exchange (TLS 1.2)
    usages = [
        ExtendedKeyUsageOID.SERVER_AUTH if role == "broker" else ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, rsa_key, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    if servers:
        builder = builder.add_extension(_san(servers), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


WRONG_NAME_HINT = (
    "if the card booted with the wrong host name: on the node write NODE_ID to "
    "/etc/hostname, remove node.key and node.csr and make them again with "
    "`edge pki csr --cn NODE_ID` (docs/pki.md, wrong host name)"
)


def read_request(
    csr_path: Path, *, role: str, servers: list[str], expect_cn: str | None
) -> x509.CertificateSigningRequest:
    """The request at *csr_path*, checked: signature, key, CN for *role* and, when given,
    the CN the inventory expects."""
    try:
        data = csr_path.read_bytes()
    except OSError as e:
        raise PkiError(f"{csr_path}: cannot read the request: {e.strerror or e}") from e
    csr = load_csr(data, str(csr_path))
    cn = common_name(csr, str(csr_path))
    if expect_cn is not None and cn != expect_cn:
        raise PkiError(
            f"{csr_path}: the request is for CN {cn!r}, expected {expect_cn!r}; {WRONG_NAME_HINT}"
        )
    try:
        check_role(cn, role, servers)
    except PkiError as e:
        raise PkiError(f"{csr_path}: {e}") from e
    return csr


def sign_file(
    ca_dir: Path,
    csr_path: Path,
    out: Path,
    *,
    role: str = "node",
    servers: list[str] | None = None,
    days: int = 825,
    force: bool = False,
    expect_cn: str | None = None,
    passphrase: bytes | None = None,
) -> x509.Certificate:
    """Sign the CSR at *csr_path* with the CA in *ca_dir* (its key decrypted with
    *passphrase*), write the certificate to *out* (an existing one only with *force*) and
    record it in the CA's index. *expect_cn*: the name the request must carry (the node id
    the inventory knows it by), so a node cannot ask for another node's name."""
    csr = read_request(csr_path, role=role, servers=servers or [], expect_cn=expect_cn)
    if out.exists() and not force:
        raise PkiError(f"{out}: a certificate is already there; refusing to overwrite it")
    ca = SiteCA.load(ca_dir, passphrase)
    cn = common_name(csr, str(csr_path))
    cert = issue(ca, csr, role=role, servers=servers or [], days=days)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file(out, cert.public_bytes(serialization.Encoding.PEM))
    append_index(
        ca_dir,
        {
            "action": "issued",
            "serial": serial_hex(cert.serial_number),
            "cn": cn,
            "role": role,
            "servers": servers or [],
            "not_after": cert.not_valid_after_utc.isoformat(),
            "time": now().isoformat(),
            "cert": str(out),
        },
    )
    return cert
