"""A node's signing key is born once, on purpose (``edge keys init``), and its birth is the
first thing the audit chain says about it: a ``key_init`` record with the key id and public
key, then a checkpoint signed by the new key."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from edge.core.logs import get_logger
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey, SigningKeyError, public_pem

log = get_logger(__name__)


def init_key(key_path: Path, audit_path: Path) -> tuple[NodeKey, dict[str, object]]:
    """Make the key at *key_path* (refusing to replace one) and record ``key_init`` in the
    audit log at *audit_path*; returns the key and the record. If the record cannot be
    written the new key is removed again, so no key exists that the chain does not name.
    Raises :class:`SigningKeyError` (or ``AuditLogError`` for a damaged log)."""
    audit = AuditLog(audit_path)  # a damaged log stops us before any key exists
    key = NodeKey.create(key_path)
    raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        record = audit.append(
            "key_init",
            "key",
            key.id,
            None,
            hashlib.sha256(raw).hexdigest(),
            key_id=key.id,
            alg="Ed25519",
            public_key=public_pem(key.public),
        )
    except OSError as e:
        key_path.unlink(missing_ok=True)
        raise SigningKeyError(
            f"{audit_path}: cannot record the new key in the audit log ({e.strerror or e}); "
            "no key was made"
        ) from e
    audit.checkpoint(key)  # the new key signs the chain that names it
    log.info("keys.init", path=str(key_path), key_id=key.id, audit_seq=record["seq"])
    return key, record
