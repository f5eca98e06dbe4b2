"""The node's Ed25519 signing key, written the way `edge keys init` leaves it, for the tests
of what `edge check-config` and `edge run` make of it."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def write_signing_key(data_dir: Path, mode: int = 0o600) -> Path:
    """An Ed25519 signing key where the node keeps it (as `edge keys init` makes it)."""
    key = data_dir / "keys" / "node-ed25519.pem"
    key.parent.mkdir(parents=True, mode=0o700)
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(mode)
    return key
