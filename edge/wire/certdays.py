"""How long the TLS files of a link stay good: a certificate's days to its ``notAfter``, a
CA bundle's to the first of its certificates to expire, a CRL's to its ``nextUpdate`` (the
broker refuses every client once the CRL it checks against is past it). The node puts these
in each link's heartbeat entry; the receiver checks its own files with them
(:mod:`edge.receiver.expiry`). Files are parsed once per change (size and mtime)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from edge.config.transport import TlsConfig

DAY = 86400.0
SITE_CRL = "site-crl.pem"
"""The CRL's name beside a destination's CA file when its ``tls.crl`` is unset."""


class CertFileError(ValueError):
    """A certificate or CRL file that cannot be read or parsed; the text names the file."""


@dataclass(frozen=True, slots=True)
class Expiry:
    """One certificate (or CRL) of a file: whose, and when it stops being good (Unix time)."""

    subject: str
    until: float

    def days(self, now: float) -> float:
        """Days left at Unix time *now* (negative once past), to a tenth of a day."""
        return round((self.until - now) / DAY, 1)


_cache: dict[tuple[str, str], tuple[tuple[int, int], list[Expiry]]] = {}
_lock = threading.Lock()


def certificates(path: str | os.PathLike[str]) -> list[Expiry]:
    """Every certificate in the PEM file *path*, in file order (a client certificate
    first, then any intermediates; or a CA bundle)."""
    return _read(path, "cert")


def crl_next_update(path: str | os.PathLike[str]) -> Expiry:
    """The CRL in *path* (PEM or DER): its issuer and ``nextUpdate``."""
    found = _read(path, "crl")
    return found[0]


def cert_days(path: str | os.PathLike[str], now: float) -> float:
    """Days left of the first certificate in *path* (a client certificate's own)."""
    return certificates(path)[0].days(now)


def bundle_days(path: str | os.PathLike[str], now: float) -> float:
    """Days left of the certificate in *path* that expires first (a CA bundle)."""
    return min(e.days(now) for e in certificates(path))


def crl_days(path: str | os.PathLike[str], now: float) -> float:
    """Days left until the CRL in *path* is past its ``nextUpdate``."""
    return crl_next_update(path).days(now)


def _read(path: str | os.PathLike[str], what: str) -> list[Expiry]:
    p = Path(path)
    try:
        st = p.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        key = (str(p), what)
        with _lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = p.read_bytes()
    except OSError as e:
        raise CertFileError(f"{p}: cannot read: {e.strerror or e}") from e
    found = _parse(p, data, what)
    with _lock:
        if len(_cache) > 256:  # many files over a long life: start again
            _cache.clear()
        _cache[(str(p), what)] = (stamp, found)
    return found


def _parse(p: Path, data: bytes, what: str) -> list[Expiry]:
    try:
        if what == "crl":
            crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data
                   else x509.load_der_x509_crl(data))  # fmt: skip
            if crl.next_update_utc is None:
                raise CertFileError(f"{p}: the CRL has no nextUpdate")
            return [Expiry(crl.issuer.rfc4514_string(), crl.next_update_utc.timestamp())]
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        if isinstance(e, CertFileError):
            raise
        kind = "a CRL (PEM or DER)" if what == "crl" else "PEM certificates"
        raise CertFileError(f"{p}: not {kind}: {e}") from e
    return [Expiry(c.subject.rfc4514_string(), c.not_valid_after_utc.timestamp()) for c in certs]


def revoked(cert_path: str | os.PathLike[str], crl_path: str | os.PathLike[str]) -> bool:
    """Whether the first certificate in *cert_path* is listed in the CRL at *crl_path*
    (False when either cannot be read: this only names a cause, it decides nothing)."""
    try:
        cert = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())[0]
        data = Path(crl_path).read_bytes()
        crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data
               else x509.load_der_x509_crl(data))  # fmt: skip
    except (OSError, ValueError, IndexError):
        return False
    if crl.issuer != cert.issuer:
        return False
    return crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def crl_path(tls: TlsConfig) -> Path | None:
    """The CRL file *tls* names, else ``site-crl.pem`` beside its CA file if one is there."""
    if tls.crl is not None:
        return Path(tls.crl)
    beside = Path(tls.ca).parent / SITE_CRL
    return beside if beside.is_file() else None


def tls_days(tls: TlsConfig | None, now: float) -> dict[str, float | None]:
    """A link's heartbeat figures at Unix time *now*: ``cert_days`` (its client
    certificate), ``ca_days`` (the first of its CA file's certificates to expire) and
    ``crl_days`` (its CRL's nextUpdate); None where there is no such file or it cannot be
    read (the link's own start names unreadable files)."""
    out: dict[str, float | None] = {"cert_days": None, "ca_days": None, "crl_days": None}
    if tls is None:
        return out
    crl = crl_path(tls)
    for key, path, days in (("cert_days", tls.cert, cert_days), ("ca_days", tls.ca, bundle_days),
                            ("crl_days", crl, crl_days)):  # fmt: skip
        if path is not None:
            try:
                out[key] = days(path, now)
            except CertFileError:
                out[key] = None
    return out
