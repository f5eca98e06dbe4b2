"""Small reads the dashboard's pages, the access record and the receiver's checks make: an
incident's workflow state and its events, a clip's state and signed manifest, what a
stored item's id or hash is, the public keys an audit is checked with, the chain records
an evidence case quotes, the nodes' last health and the open alerts of some kinds. Table and
column names come from the callers' constants; values are always parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edge.receiver.store.database import Database

WORKFLOW_COLUMNS = ("status", "acked_by", "acked_at", "assignee")
"""What :func:`workflow_state` gives."""


def rows_of(
    db: Database, table: str, cols: Sequence[str], where: str = "", params: Sequence[object] = ()
) -> list[dict[str, object]]:
    """Rows of *table* (a constant name) as dicts of *cols* (constant names), narrowed and
    ordered by *where* (a constant clause with ``?`` placeholders for *params*)."""
    sql = f"SELECT {', '.join(cols)} FROM {table} {where}"  # noqa: S608 - constant names
    return [dict(zip(cols, r, strict=True)) for r in db.query(sql, tuple(params))]


def workflow_state(db: Database, site: str, incident: str) -> dict[str, object] | None:
    """The incident's workflow state (:data:`WORKFLOW_COLUMNS`; None: no such incident)."""
    found = rows_of(db, "incidents", WORKFLOW_COLUMNS, "WHERE site = ? AND incident = ?",
                    (site, incident))  # fmt: skip
    return found[0] if found else None


def incident_of_event(db: Database, site: str, node: str, event_id: str) -> str | None:
    """The incident of the occurrence *site*/*node*'s event *event_id* belongs to (None:
    no occurrence, or it has no incident)."""
    rows = db.query(
        "SELECT o.incident FROM events e JOIN occurrences o ON o.site = e.site"
        " AND o.node = e.node AND o.occurrence = e.occurrence"
        " WHERE e.site = ? AND e.node = ? AND e.id = ?",
        (site, node, event_id),
    )
    return str(rows[0][0]) if rows and rows[0][0] else None


def incident_events(
    db: Database, site: str, incident: str, cols: Sequence[str], limit: int
) -> list[dict[str, object]]:
    """The stored events of *site*'s *incident* (through its occurrences: both sides
    indexed), oldest first, at most *limit*: their *cols* (constant names) and ``payload``."""
    names = ", ".join(f"e.{c}" for c in cols)
    rows = db.query(
        f"SELECT {names}, e.payload FROM occurrences o JOIN events e ON e.site = o.site"  # noqa: S608
        " AND e.node = o.node AND e.occurrence = o.occurrence"
        " WHERE o.site = ? AND o.incident = ? ORDER BY e.seq LIMIT ?",
        (site, incident, limit),
    )
    return [dict(zip((*cols, "payload"), r, strict=True)) for r in rows]


def clip_state(db: Database, site: str, node: str, clip_id: str) -> str | None:
    """The state of a stored clip (None: no such clip)."""
    rows = db.query(
        "SELECT state FROM clips WHERE site = ? AND node = ? AND clip_id = ?",
        (site, node, clip_id),
    )
    return str(rows[0][0]) if rows else None


def clip_envelope(db: Database, site: str, node: str, clip_id: str) -> str | None:
    """The signed manifest of a stored clip as stored (None: no clip, or no manifest yet)."""
    rows = db.query(
        "SELECT envelope FROM clips WHERE site = ? AND node = ? AND clip_id = ?",
        (site, node, clip_id),
    )
    return str(rows[0][0]) if rows and rows[0][0] else None


def seen_sha256(db: Database, site: str, node: str, message_id: str) -> str | None:
    """The payload hash of a message the receiver has seen (None: not seen)."""
    rows = db.query("SELECT sha256 FROM seen WHERE site = ? AND node = ? AND id = ?",
                    (site, node, message_id))  # fmt: skip
    return str(rows[0][0]) if rows else None


def media_id(db: Database, kind: str, site: str, node: str, sha256: str) -> str | None:
    """The id of *site*/*node*'s clip (*kind* ``clip``) or snapshot (any other) with
    *sha256* (None: none)."""
    if kind == "clip":
        sql = "SELECT clip_id FROM clips WHERE sha256 = ? AND site = ? AND node = ? LIMIT 1"
    else:
        sql = "SELECT id FROM snapshots WHERE sha256 = ? AND site = ? AND node = ? LIMIT 1"
    rows = db.query(sql, (sha256, site, node))
    return str(rows[0][0]) if rows else None


def event_clip_id(db: Database, site: str, node: str, event_id: str) -> str | None:
    """The clip id of an event (None: no such event, or it has no clip)."""
    rows = db.query("SELECT clip_id FROM events WHERE site = ? AND node = ? AND id = ?",
                    (site, node, event_id))  # fmt: skip
    return str(rows[0][0]) if rows and rows[0][0] else None


def node_public_keys(db: Database, site: str, node: str) -> list[str]:
    """Every public key (PEM) *site*/*node* was enrolled with, current and replaced."""
    rows = db.query("SELECT public_key FROM node_keys WHERE site = ? AND node = ?", (site, node))
    return [str(r[0]) for r in rows]


def receiver_public_keys(db: Database) -> list[str]:
    """Every public key (PEM) this receiver signed its acknowledgement chain with."""
    return [str(r[0]) for r in db.query("SELECT public_key FROM receiver_keys")]


def chain_records(db: Database, hashes: Sequence[str]) -> list[str]:
    """The stored acknowledgement chain records (one JSON line each, as kept) with these
    hashes, in chain order."""
    if not hashes:
        return []
    wanted = tuple(dict.fromkeys(hashes))
    marks = ", ".join("?" for _ in wanted)
    rows = db.query(
        f"SELECT record FROM ack_chain WHERE hash IN ({marks}) ORDER BY seq",  # noqa: S608
        wanted,
    )
    return [str(r[0]) for r in rows]


def node_health(db: Database) -> list[tuple[str, str, Any]]:
    """(site, node, last health as stored) of every node that reported one."""
    rows = db.query("SELECT site, node, last_health FROM nodes WHERE last_health IS NOT NULL")
    return [(str(s), str(n), h) for s, n, h in rows]


def open_alerts_of(db: Database, kinds: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(kind, site, node, ref) of the open alerts of *kinds*."""
    if not kinds:
        return []
    marks = ", ".join("?" for _ in kinds)
    rows = db.query(
        f"SELECT kind, site, node, ref FROM alerts WHERE cleared IS NULL AND kind IN ({marks})",  # noqa: S608
        tuple(kinds),
    )
    return [(str(k), str(s), str(n), str(r)) for k, s, n, r in rows]


EVENT_INCIDENT_COLUMNS = ("incident", "status", "acked_by", "acked_at", "assignee", "outcome")
"""What :func:`event_incident` gives."""


def event_incident(db: Database, site: str, node: str, event_id: str) -> dict[str, object] | None:
    """The incident of an event, through its occurrence (:data:`EVENT_INCIDENT_COLUMNS`;
    None: the event is folded into no incident)."""
    rows = db.query(
        "SELECT i.incident, i.status, i.acked_by, i.acked_at, i.assignee, i.outcome"
        " FROM events e JOIN occurrences o ON o.site = e.site AND o.node = e.node"
        " AND o.occurrence = e.occurrence JOIN incidents i ON i.site = o.site"
        " AND i.incident = o.incident WHERE e.site = ? AND e.node = ? AND e.id = ?",
        (site, node, event_id),
    )
    return dict(zip(EVENT_INCIDENT_COLUMNS, rows[0], strict=True)) if rows else None
