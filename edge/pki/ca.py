"""The site CA: its key and self-signed certificate in a directory of their own, the files
it keeps (written whole or not at all; private keys 0600 and never replaced) and its
index of what it issued and revoked."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.core.errors import EdgeError

CA_KEY = "ca.key"
CA_CERT = "ca.crt"
INDEX = "index"
CRL = "crl.pem"


class PkiError(EdgeError):
    """A PKI file that cannot be made, read or trusted, or a request that is refused."""


def now() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


def private_dir(path: Path) -> None:
    """Make *path* (and its parents) as a 0700 directory unless it is there."""
    if not path.is_dir():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)  # whatever the umask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, *, mode: int = 0o644, replace: bool = True) -> None:
    """Write *data* to *path* whole or not at all (a fsync'd temporary file moved into
    place). With ``replace=False`` an existing file is never touched: PkiError."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the file appeared meanwhile
            except FileExistsError as e:
                raise PkiError(f"{path}: already there; refusing to overwrite it") from e
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """*key* as PKCS#8 PEM (the file holding it is 0600), encrypted with *passphrase* when
    one is given (PBES2, AES-256: ``openssl pkey`` reads it)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def is_encrypted(path: Path) -> bool:
    """Whether the PEM key at *path* is encrypted (False when it cannot be read: loading
    it then says why)."""
    try:
        return ENCRYPTED_PEM in path.read_bytes()
    except OSError:
        return False


class PassphraseNeeded(PkiError):
    """The CA key is encrypted and no passphrase was given."""


def load_private_key(path: Path, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """The EC private key at *path* (decrypted with *passphrase* when it is encrypted);
    refused when others may read it, or encrypted without a passphrase or with a wrong one."""
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except OSError as e:
        raise PkiError(f"{path}: cannot read the key: {e.strerror or e}") from e
    if mode & 0o077:
        raise PkiError(f"{path}: private key readable by others (mode {mode:o}); chmod 600 it")
    encrypted = ENCRYPTED_PEM in data
    if encrypted and not passphrase:
        raise PassphraseNeeded(f"{path}: the key is encrypted; its passphrase is needed")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except ValueError as e:
        if encrypted:
            raise PkiError(f"{path}: wrong passphrase (or a damaged key)") from e
        raise PkiError(f"{path}: not a usable private key: {e}") from e
    except TypeError as e:
        raise PkiError(f"{path}: not a usable private key: {e}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path}: not an EC private key")
    return key


@dataclass(frozen=True)
class SiteCA:
    """A CA directory with its key and certificate loaded."""

    dir: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_path(self) -> Path:
        """The CA certificate (what brokers and nodes trust)."""
        return self.dir / CA_CERT

    @classmethod
    def load(cls, directory: Path, passphrase: bytes | None = None) -> SiteCA:
        """The CA in *directory* (its key decrypted with *passphrase*); PkiError when it is
        missing, unsafe or inconsistent."""
        cert = load_ca_cert(directory)
        key = load_private_key(directory / CA_KEY, passphrase)
        if cert.public_key() != key.public_key():
            raise PkiError(f"{directory}: {CA_KEY} does not belong to {CA_CERT}")
        return cls(directory, key, cert)


def load_ca_cert(directory: Path) -> x509.Certificate:
    """The CA certificate in *directory* (no key needed)."""
    if not (directory / CA_CERT).is_file():
        raise PkiError(f"{directory}: no CA here (make one with `edge pki init-ca`)")
    try:
        return x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
    except (OSError, ValueError) as e:
        raise PkiError(f"{directory / CA_CERT}: not a usable certificate: {e}") from e


def init_ca(
    directory: Path, name: str, days: int = 3650, passphrase: bytes | None = None
) -> SiteCA:
    """Make a CA in *directory* (0700 if made here): an EC P-256 key (0600, encrypted with
    *passphrase* when given) and a self-signed certificate for *name* valid *days*;
    refuses when a CA is there."""
    if not name.strip():
        raise PkiError("the CA needs a name")
    if days < 1:
        raise PkiError(f"--days must be at least 1, got {days}")
    for existing in (directory / CA_KEY, directory / CA_CERT):
        if existing.exists():
            raise PkiError(f"{existing}: a CA is already there; refusing to overwrite it")
    private_dir(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    write_file(directory / CA_KEY, key_pem(key, passphrase), mode=0o600, replace=False)
    write_file(directory / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    return SiteCA(directory, key, cert)


def serial_hex(serial: int) -> str:
    """A serial number as the index and the CLI show it: lower-case hex."""
    return f"{serial:x}"


def parse_serial(text: str) -> int:
    """A serial number from hex (``0x``, colons and case allowed)."""
    cleaned = text.strip().lower().removeprefix("0x").replace(":", "")
    try:
        return int(cleaned, 16)
    except ValueError as e:
        raise PkiError(f"not a hex serial number: {text!r}") from e


def append_index(directory: Path, entry: Mapping[str, object]) -> None:
    """Add one record (issued or revoked) to the CA's index, fsync'd."""
    line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(directory / INDEX, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_index(directory: Path) -> list[dict[str, object]]:
    """Every record of the CA's index, oldest first ([] before the first certificate)."""
    try:
        text = (directory / INDEX).read_text()
    except FileNotFoundError:
        return []
    records: list[dict[str, object]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise PkiError(f"{directory / INDEX}:{n}: damaged record: {e}") from e
        if not isinstance(record, dict):
            raise PkiError(f"{directory / INDEX}:{n}: damaged record: not a JSON object")
        records.append(record)
    return records
