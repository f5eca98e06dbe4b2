"""Signed bundles: a directory of files (a node's sharing report, a receiver's access
export) whose every file is named with its sha256 in ``SIGNATURE.json``, signed with the
maker's Ed25519 key. Whoever holds the maker's public key can check offline that no file was
changed, added or removed since.

``SIGNATURE.json``: ``{"schema", "content", "key_id", "public_key", "signed", "files":
{RELATIVE_PATH: SHA256}, "signature"}`` where ``signature`` (base64) is over the canonical
object without it. ``content`` names what the bundle holds (its main file's schema).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.canonical import canonical
from edge.evidence.keys import key_id, load_public, public_pem
from edge.evidence.manifest import sha256_file
from edge.evidence.signing import Signer

SCHEMA = "warehouse-edge/signed-bundle/1"
SIGNATURE_NAME = "SIGNATURE.json"


class BundleError(EvidenceError):
    """A bundle cannot be signed or read (not a directory, no SIGNATURE.json, not JSON)."""


def _files(directory: Path) -> dict[str, str]:
    out = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and rel != SIGNATURE_NAME:
            out[rel] = sha256_file(path)
    return out


def sign_bundle(
    directory: Path, signer: Signer, public: Ed25519PublicKey, content: str
) -> dict[str, object]:
    """Write ``SIGNATURE.json`` over every file under *directory*; returns it."""
    if not directory.is_dir():
        raise BundleError(f"{directory}: not a directory")
    body: dict[str, object] = {
        "schema": SCHEMA,
        "content": content,
        "key_id": signer.id,
        "public_key": public_pem(public),
        "signed": round(time.time(), 3),
        "files": _files(directory),
    }
    signature = base64.b64encode(signer.sign(canonical(body))).decode()
    signed = {**body, "signature": signature}
    (directory / SIGNATURE_NAME).write_text(json.dumps(signed, indent=1, sort_keys=True) + "\n")
    return signed


@dataclass
class BundleCheck:
    """What :func:`verify_bundle` found: ``problems`` empty means the bundle is as signed."""

    directory: Path
    content: str | None = None
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing wrong found."""
        return not self.problems


def read_signature(directory: Path) -> dict[str, Any]:
    """The bundle's ``SIGNATURE.json`` as JSON gave it (its fields unchecked: callers and
    tests read them); raises :class:`BundleError`."""
    path = directory / SIGNATURE_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise BundleError(f"{path}: missing (not a signed bundle)") from e
    except (OSError, ValueError) as e:
        raise BundleError(f"{path}: unreadable: {e}") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BundleError(f"{path}: not a {SCHEMA} signature")
    return data


def verify_bundle(directory: Path, public: Ed25519PublicKey | str | bytes) -> BundleCheck:
    """Check *directory* against the maker's *public* key (an object or PEM): the signature,
    the key, and every file's hash; files added or removed are problems too."""
    key = public if isinstance(public, Ed25519PublicKey) else load_public(public)
    check = BundleCheck(directory)
    try:
        signed = read_signature(directory)
    except BundleError as e:
        check.problems.append(str(e))
        return check
    check.content, check.key_id = signed.get("content"), signed.get("key_id")
    if signed.get("key_id") != key_id(key):
        check.problems.append(
            f"{SIGNATURE_NAME}: signed by key {signed.get('key_id')}, not {key_id(key)}"
        )
    body = {k: v for k, v in signed.items() if k != "signature"}
    try:
        key.verify(base64.b64decode(str(signed.get("signature")), validate=True), canonical(body))
    except (InvalidSignature, binascii.Error, ValueError):
        check.problems.append(f"{SIGNATURE_NAME}: the signature does not verify")
    raw = signed.get("files")
    listed: dict[str, object] = raw if isinstance(raw, dict) else {}
    found = _files(directory)
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            check.problems.append(f"{name}: listed in {SIGNATURE_NAME} but missing")
        elif name not in listed:
            check.problems.append(f"{name}: not in {SIGNATURE_NAME} (added after signing)")
        elif listed[name] != found[name]:
            check.problems.append(f"{name}: changed since it was signed (sha256 differs)")
    return check
