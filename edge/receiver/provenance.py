"""Which key signed a stored clip, and does the clip still verify with it? The key is the one
named in the clip's signed manifest (its ``key_id``), looked up in the node's key history: a
clip signed before the node's key was replaced verifies with the old key, as it did when it
arrived. The dashboard's detail page, its evidence bundle and ``edge receive show`` say the
same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.core.errors import EdgeError
from edge.evidence.manifest import verify_clip
from edge.receiver.keyring import Identity, utc
from edge.receiver.store import keys, lookups
from edge.receiver.store.database import Database

VERIFIED = "the Ed25519 signature holds and the file matches the signed manifest"


def envelope(db: Database, site: str, node: str, clip_id: str) -> dict[str, Any] | None:
    """The signed manifest of a stored clip."""
    stored = lookups.clip_envelope(db, site, node, clip_id)
    if stored is None:
        return None
    try:
        value = json.loads(stored)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def signer(db: Database, site: str, node: str, signed: dict[str, object]) -> Identity | None:
    """The enrolment of the key that signed *signed* (a manifest envelope of *node*)."""
    kid = signed.get("key_id")
    return keys.signer(db, site, node, kid) if isinstance(kid, str) else None


def key_facts(key: Identity) -> dict[str, object]:
    """What a reader needs of a signing key's enrolment (the page, ``show``)."""
    return {
        "key_id": key.key_id,
        "valid_from": utc(key.valid_from),
        "valid_until": None if key.valid_until is None else utc(key.valid_until),
        "current": key.valid_until is None,
        "enrolled_by": key.enrolled_by,
        "reason": key.reason,
        "replaced_by": key.replaced_by,
        "summary": key.describe(),
    }


def verify_event_clip(db: Database, event: dict[str, Any]) -> dict[str, object]:
    """The clip of *event* (as :func:`edge.receiver.store.reads.event` gives it) checked
    again, now, with the key that signed it: ``ok``, ``detail``, ``key_id``, ``sha256``,
    ``mask_hash``, ``state`` and ``key`` (that key's enrolment, see :func:`key_facts`)."""
    clip = event.get("clip")
    if not clip:
        return {"ok": False, "detail": "no clip"}
    out: dict[str, object] = {k: clip.get(k) for k in ("key_id", "sha256", "mask_hash", "state")}
    signed = envelope(db, event["site"], event["node"], event["clip_id"])
    path = clip.get("path")
    if signed is None or clip.get("state") != "complete" or not path:
        return {**out, "ok": False, "detail": f"clip {clip.get('state')}, not verifiable yet"}
    key = signer(db, event["site"], event["node"], signed)
    if key is None:
        detail = (
            f"key {signed.get('key_id')!r} is in no enrolment of {event['site']}/{event['node']}"
        )
        return {**out, "ok": False, "detail": detail}
    out["key"] = key_facts(key)
    try:
        verify_clip(signed, key.public, Path(path))
    except (EdgeError, OSError, ValueError) as e:
        return {**out, "ok": False, "detail": str(e)}
    when = ("the node's current key" if key.valid_until is None
            else f"valid until its replacement at {utc(key.valid_until)}")  # fmt: skip
    return {**out, "ok": True, "detail": f"{VERIFIED}; signed by key {key.key_id}, {when}"}
