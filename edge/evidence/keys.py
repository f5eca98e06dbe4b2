"""The node's Ed25519 signing key: made on the node, once, by ``edge keys init``; kept on the
node (0600, in a 0700 directory), never exported. Only the public key leaves, for the
receiving side to verify manifests and audit checkpoints with."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.core.errors import EvidenceError


class SigningKeyError(EvidenceError):
    """The key file is missing, unreadable, unsafe or not an Ed25519 key, or a new one would
    replace it."""


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


MISSING_HINT = "edge keys init --config <node.toml>"
"""The one way a node gets a new signing key."""


class NodeKey:
    """The node's signing key at *path*. It is never made on the fly: a node that lost its key
    and signed on with a new one would break the continuity of its evidence unnoticed. A new
    key comes only from :meth:`create` (``edge keys init``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key = self._load()
        self.public = self._key.public_key()
        self.id = key_id(self.public)

    @classmethod
    def create(cls, path: Path) -> NodeKey:
        """Make a new key at *path* (0600, in a 0700 directory); refuses to replace one."""
        if path.exists():
            raise SigningKeyError(f"{path}: a signing key is already there; refusing to replace it")
        try:
            if not path.parent.is_dir():  # a directory of its own: 0700 whatever the umask
                path.parent.mkdir(parents=True, mode=0o700)
                os.chmod(path.parent, 0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_exclusive(path, pem)
        except FileExistsError as e:
            raise SigningKeyError(
                f"{path}: a signing key is already there; refusing to replace it"
            ) from e
        except OSError as e:
            raise SigningKeyError(
                f"{path}: cannot create the signing key: {e.strerror or e}"
            ) from e
        return cls(path)

    def _load(self) -> Ed25519PrivateKey:
        try:
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError as e:
            raise SigningKeyError(
                f"{self.path}: the node's signing key is missing; the node never makes one by "
                f"itself (its evidence would change keys unnoticed): restore it from backup, "
                f"or for a new node create it once with `{MISSING_HINT}`"
            ) from e
        except OSError as e:
            raise SigningKeyError(f"{self.path}: cannot read the signing key: {e}") from e
        if mode & 0o077:
            raise SigningKeyError(
                f"{self.path}: signing key readable by others (mode {mode:o}); chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as e:
            raise SigningKeyError(f"{self.path}: not a usable private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{self.path}: not an Ed25519 key")
        return key

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of *data*."""
        return self._key.sign(data)


def _write_exclusive(path: Path, data: bytes) -> None:
    """Write *data* to *path* whole or not at all, never over an existing file: a temporary
    file (0600, fsync'd) linked into place, then the directory fsync'd."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)  # fails if a key appeared meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
