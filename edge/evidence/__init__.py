"""Evidence: the node's signing key, signed clip manifests, the audit chain."""

from edge.evidence.audit import AuditCheck, AuditLog, verify_log
from edge.evidence.keys import NodeKey, load_public, public_pem
from edge.evidence.manifest import (
    EvidenceError,
    build_manifest,
    sign_manifest,
    verify_clip,
    verify_manifest,
)

__all__ = [
    "AuditCheck",
    "AuditLog",
    "EvidenceError",
    "NodeKey",
    "build_manifest",
    "load_public",
    "public_pem",
    "sign_manifest",
    "verify_clip",
    "verify_log",
    "verify_manifest",
]
