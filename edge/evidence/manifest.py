"""Clip manifests: what a clip is, signed by the node, checked by whoever receives it.

The verification half is shared with the police-side receiver.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.canonical import canonical
from edge.evidence.keys import key_id
from edge.evidence.signing import Signer

SCHEMA = "warehouse-edge/clip-manifest/1"


class ClipManifest(TypedDict):
    """What a clip is (:func:`build_manifest`): the bytes a node signs."""

    schema: str
    clip_id: str
    node: str
    site: str
    camera: str
    start: float
    end: float
    duration_s: float
    size: int
    sha256: str
    format: str
    method: str
    event_ids: list[str]
    mask_hash: str | None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(
    *,
    clip_id: str,
    path: Path,
    node: str,
    site: str,
    camera: str,
    start: float,
    end: float,
    duration_s: float,
    event_ids: Iterable[str],
    mask_hash: str | None,
    method: str,
) -> ClipManifest:
    """The manifest of the clip file at *path* (hashes it)."""
    return {
        "schema": SCHEMA,
        "clip_id": clip_id,
        "node": node,
        "site": site,
        "camera": camera,
        "start": round(start, 3),
        "end": round(end, 3),
        "duration_s": round(duration_s, 3),
        "size": path.stat().st_size,
        "sha256": sha256_file(path),
        "format": "video/mp4; codecs=h264",
        "method": method,
        "event_ids": sorted(set(event_ids)),
        "mask_hash": mask_hash,
    }


def sign_manifest(manifest: Mapping[str, object], key: Signer) -> dict[str, Any]:
    """The signed envelope: manifest, algorithm, key id, base64 signature of its canonical
    bytes."""
    return {
        "manifest": manifest,
        "alg": "Ed25519",
        "key_id": key.id,
        "signature": base64.b64encode(key.sign(canonical(manifest))).decode(),
    }


def verify_manifest(signed: Mapping[str, object], public: Ed25519PublicKey) -> dict[str, Any]:
    """Check the signature; returns the manifest (as JSON read it: its fields are checked by
    whoever uses them). Raises :class:`EvidenceError`."""
    try:
        manifest, text = signed["manifest"], signed["signature"]
        if not isinstance(text, str | bytes):
            raise TypeError(f"the signature is {type(text).__name__}, not text")
        signature = base64.b64decode(text, validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise EvidenceError(f"malformed signed manifest: {e}") from e
    if not isinstance(manifest, dict):
        raise EvidenceError(f"malformed signed manifest: manifest is {type(manifest).__name__}")
    if signed.get("alg") != "Ed25519":
        raise EvidenceError(f"unsupported signature algorithm {signed.get('alg')!r}")
    if signed.get("key_id") != key_id(public):
        raise EvidenceError(
            f"signed by key {signed.get('key_id')!r}, not by the node's key {key_id(public)!r}"
        )
    try:
        public.verify(signature, canonical(manifest))
    except InvalidSignature as e:
        raise EvidenceError(f"bad signature on manifest of clip {manifest.get('clip_id')!r}") from e
    if manifest.get("schema") != SCHEMA:
        raise EvidenceError(f"unknown manifest schema {manifest.get('schema')!r}")
    return dict(manifest)


def verify_clip(signed: Mapping[str, object], public: Ed25519PublicKey, clip: bytes | Path) -> None:
    """Check the signature and that *clip* is exactly the file the manifest describes."""
    manifest = verify_manifest(signed, public)
    data = clip.read_bytes() if isinstance(clip, Path) else clip
    if len(data) != manifest["size"]:
        raise EvidenceError(
            f"clip {manifest['clip_id']}: {len(data)} bytes, manifest says {manifest['size']}"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["sha256"]:
        raise EvidenceError(
            f"clip {manifest['clip_id']}: sha256 {digest} does not match the manifest's "
            f"{manifest['sha256']}"
        )
