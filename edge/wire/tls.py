"""TLS contexts for broker links, and plain-language reasons when TLS fails."""

from __future__ import annotations

import ssl
from pathlib import Path

from edge.config.transport import DestinationConfig, TlsConfig
from edge.core.errors import TransportError


class TlsSetupError(TransportError):
    """The TLS files of a destination cannot be used."""


def client_context(dest: DestinationConfig) -> ssl.SSLContext | None:
    """An SSL context for *dest*, or None for a plain connection (allow_insecure only)."""
    return tls_context(dest.tls, f"destinations.{dest.name}.tls")


def tls_context(tls: TlsConfig | None, where: str) -> ssl.SSLContext | None:
    """An SSL context from *tls* (the config key *where* names it in errors)."""
    if tls is None:
        return None
    for key, value in (("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)):
        if value is not None and not Path(value).is_file():
            raise TlsSetupError(f"{where}.{key}: file not found: {value}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=tls.ca)
    except (ssl.SSLError, OSError) as e:
        raise TlsSetupError(f"{where}.ca: not a usable CA certificate ({tls.ca}): {e}") from e
    if tls.cert and tls.key:
        try:
            ctx.load_cert_chain(tls.cert, tls.key)
        except (ssl.SSLError, OSError) as e:
            raise TlsSetupError(
                f"{where}.cert/key: cannot load client certificate {tls.cert} with key "
                f"{tls.key}: {e}"
            ) from e
    ctx.check_hostname = tls.verify_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED if tls.verify_hostname else ssl.CERT_NONE
    return ctx


def explain(exc: BaseException) -> str:  # noqa: PLR0911 - one return per known cause
    """A specific, human reason for a failed TLS or TCP connection."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
            return f"broker certificate does not name this host: {reason}"
        if "expired" in reason.lower():
            return f"broker certificate has expired: {reason}"
        return f"broker certificate not trusted by the configured CA: {reason}"
    if isinstance(exc, ssl.SSLError):
        text = f"{exc.reason or ''} {exc}".lower()
        if "certificate required" in text:
            return "broker requires a client certificate and none was sent"
        if "unknown ca" in text:
            return "broker rejected the client certificate: issued by a CA it does not trust"
        if "certificate expired" in text:
            return "broker rejected the client certificate: it has expired"
        if "bad certificate" in text or "certificate unknown" in text:
            return "broker rejected the client certificate"
        if "wrong version" in text or "record layer" in text:
            return f"TLS handshake failed: is the port a TLS listener? ({exc})"
        return f"TLS error: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: broker not listening on that port"
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    return f"{type(exc).__name__}: {exc}"
