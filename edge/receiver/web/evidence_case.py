"""What an evidence bundle holds beyond the clip and its signature: the event's snapshot,
the event exactly as received with the facts its message signature covered and that
signature (with its key, when not the clip's), the other
events of its incident, and what officers did about it (the acknowledgement, the
incident's workflow notes) with each action's record from the receiver's signed audit
chain, the chain's signed head and the receiver keys that sign it.

:func:`gather` reads it all in one place; :mod:`edge.receiver.web.evidence` writes it into
the zip and :mod:`edge.receiver.web.evidence_readme` describes it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.core.displaytime import DisplayTimeError, DisplayZone
from edge.evidence.signing import SignedFields
from edge.receiver.store import keys, lookups
from edge.receiver.store.database import Database
from edge.receiver.web.incident_page import incident_events, incident_of
from edge.wire import topics

_NOTE_COLUMNS = ("seq", "username", "time", "action", "text", "audit_hash")
_ACK_COLUMNS = ("username", "note", "time", "audit_hash")
_INCIDENT_COLUMNS = ("severity", "kinds", "nodes", "started", "last_time", "status",
                     "acked_by", "acked_at", "assignee", "closed_by", "closed_at", "outcome",
                     "report_no")  # fmt: skip


@dataclass
class Case:
    """One event's case: the files to add to the bundle and the facts its README names."""

    incident: str
    files: list[tuple[str, Path]] = field(default_factory=list)
    """(name in the zip, file on disk)."""
    texts: dict[str, bytes] = field(default_factory=dict)
    """Name in the zip -> content."""
    facts: dict[str, Any] = field(default_factory=dict)


def shown(zone: DisplayZone, value: object) -> str:
    """*value* (UNIX s or RFC 3339) in the display zone with its label; as it is when it is
    neither; empty for None."""
    if value is None or value == "":
        return ""
    try:
        return zone.when(value if isinstance(value, int | float | str) else str(value))
    except DisplayTimeError:
        return str(value)


def _dumps(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _select(
    db: Database, table: str, cols: tuple[str, ...], where: str, params: tuple[object, ...] = ()
) -> list[dict[str, object]]:
    """Rows of *table* (a constant name) as dicts of *cols*."""
    return lookups.rows_of(db, table, cols, where, params)


def _with_times(zone: DisplayZone, row: dict[str, object], *keys: str) -> dict[str, object]:
    """*row* with ``KEY_shown`` beside each time *key* (the display zone's reading)."""
    out = dict(row)
    for key in keys:
        if out.get(key) is not None:
            out[f"{key}_shown"] = shown(zone, out[key])
    return out


def gather(
    db: Database, event: dict[str, Any], snapshot: Path | None, zone: DisplayZone, clip_key: str
) -> Case:
    """The case of *event* (as :func:`edge.receiver.store.reads.event` gives it; its
    snapshot file *snapshot* when stored; its clip signed by key *clip_key*), times shown
    in *zone*."""
    case = Case(incident_of(db, event["site"], event["node"], event))
    if snapshot is not None:
        case.files.append(("snapshot.jpg", snapshot))
    _event(db, event, case, clip_key)
    _incident(db, event, case, zone)
    _workflow(db, event, case, zone)
    return case


def _event(db: Database, event: dict[str, Any], case: Case, clip_key: str) -> None:
    """The event byte for byte as received, the fields its message signature covers, and
    that signature (``event.sig``, raw) with the key that made it when the receiver kept
    them (events stored since migration 9); the key's PEM too when it is not the clip's
    (*clip_key*)."""
    site, node, event_id = event["site"], event["node"], event["id"]
    got = _select(db, "events", ("payload", "key_id", "signature"),
                  "WHERE site = ? AND node = ? AND id = ?", (site, node, event_id))[0]  # fmt: skip
    received = str(got["payload"]).encode()
    sha = hashlib.sha256(received).hexdigest()
    case.texts["event.received.json"] = received
    signed = SignedFields(site, node, topics.EVENTS, event_id, sha)
    case.texts["event.signed-fields.json"] = signed.canonical()
    case.facts.update(payload_sha256=sha, event_key_id=got["key_id"], event_key_file=None)
    signer = keys.signer(db, site, node, str(got["key_id"])) if got["key_id"] else None
    try:
        raw = base64.b64decode(str(got["signature"] or ""), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if signer is None or not raw:
        return
    case.texts["event.sig"] = raw
    if signer.key_id == clip_key:
        case.facts["event_key_file"] = "node-public-key.pem"
    else:
        case.texts["event-signer-public-key.pem"] = signer.public_pem.encode()
        case.facts["event_key_file"] = "event-signer-public-key.pem"


def _incident(db: Database, event: dict[str, Any], case: Case, zone: DisplayZone) -> None:
    """The incident's row and its other events."""
    site = event["site"]
    others = []
    for e in incident_events(db, site, case.incident):
        if e["node"] == event["node"] and e["id"] == event["id"]:
            continue
        parsed = {**e, "payload": json.loads(str(e["payload"]))}
        others.append(_with_times(zone, parsed, "received"))
    case.texts["incident/other-events.json"] = _dumps(others)
    found = _select(db, "incidents", _INCIDENT_COLUMNS, "WHERE site = ? AND incident = ?",
                    (site, case.incident))  # fmt: skip
    times = ("started", "last_time", "acked_at", "closed_at")
    row = _with_times(zone, found[0], *times) if found else {}
    case.texts["incident/incident.json"] = _dumps({"site": site, "incident": case.incident, **row})
    case.facts.update(others=others, incident_row=row)


def _workflow(db: Database, event: dict[str, object], case: Case, zone: DisplayZone) -> None:
    """The event's acknowledgement, the incident's notes, their audit-chain records, the
    chain's signed head and the receiver's keys."""
    acks = _select(db, "acks", _ACK_COLUMNS, "WHERE site = ? AND node = ? AND event_id = ?",
                   (event["site"], event["node"], event["id"]))  # fmt: skip
    ack = _with_times(zone, acks[0], "time") if acks else None
    notes = [
        _with_times(zone, n, "time")
        for n in _select(
            db,
            "incident_notes",
            _NOTE_COLUMNS,
            "WHERE site = ? AND incident = ? ORDER BY seq",
            (event["site"], case.incident),
        )
    ]
    case.texts["workflow/acknowledgement.json"] = _dumps(ack)
    case.texts["workflow/notes.json"] = _dumps(notes)
    hashes = [str(r["audit_hash"]) for r in (*([ack] if ack else []), *notes) if r["audit_hash"]]
    records = _audit_records(db, hashes)
    case.texts["workflow/audit-records.jsonl"] = "".join(f"{r}\n" for r in records).encode()
    heads = _select(db, "ack_chain_head", ("seq", "hash", "time", "key_id", "signature"), "")
    head = _with_times(zone, heads[0], "time") if heads else None
    case.texts["workflow/chain-head.json"] = _dumps(head)
    cols = ("key_id", "receiver", "public_key", "registered")
    keys = _select(db, "receiver_keys", cols, "ORDER BY registered")
    case.texts["workflow/receiver-keys.json"] = _dumps(
        [_with_times(zone, k, "registered") for k in keys]
    )
    case.facts.update(ack=ack, notes=notes, records=len(records))


def _audit_records(db: Database, hashes: list[str]) -> list[str]:
    """The stored chain records (one JSON line each, as kept) with these hashes, in chain
    order."""
    return lookups.chain_records(db, hashes)
