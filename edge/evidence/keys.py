"""The node's Ed25519 signing key: made on the node, kept on the node (0600), never exported.
Only the public key leaves, for the receiving side to verify manifests with."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.core.errors import EvidenceError


class SigningKeyError(EvidenceError):
    """The key file is unreadable, unsafe or not an Ed25519 key."""


def key_id(public: Ed25519PublicKey) -> str:
    """Short fingerprint: the first 16 hex digits of sha256 over the raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public(pem: str | bytes) -> Ed25519PublicKey:
    """A public key from PEM."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


class NodeKey:
    """Loads the node's signing key from *path*, creating it on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.exists():
            self._key = self._load()
        else:
            self._key = self._create()
        self.public = self._key.public_key()
        self.id = key_id(self.public)

    def _create(self) -> Ed25519PrivateKey:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        return key

    def _load(self) -> Ed25519PrivateKey:
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SigningKeyError(
                f"{self.path}: signing key readable by others (mode {mode:o}); chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
        except (ValueError, OSError) as e:
            raise SigningKeyError(f"{self.path}: not a usable private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{self.path}: not an Ed25519 key")
        return key

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of *data*."""
        return self._key.sign(data)
