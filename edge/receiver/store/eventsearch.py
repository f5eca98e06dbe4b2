"""Events as ``edge receive list`` and ``show`` find them: by site, node, kind, severity,
the workflow status of their incident (new, acknowledged, in progress, closed; open = not
closed) and age; an event by a prefix of its id; and what is known to name in a filter
(the enrolled nodes, the kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.core.kinds import Kind
from edge.receiver.store import eventlist
from edge.receiver.store.database import Database
from edge.receiver.store.eventlist import EventQuery

STATUSES = ("new", "acknowledged", "in_progress", "closed", "open")
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class EventSearch:
    """Which events to list, newest first."""

    site: str | None = None
    node: str | None = None
    kind: str | None = None
    severity: str | None = None
    status: str | None = None
    """Of the event's incident: one of :data:`STATUSES` (``open``: any but closed)."""
    unacked: bool = False
    """Only events whose incident is new (nobody acknowledged it)."""
    since: float | None = None
    """Received at or after this UNIX time."""
    limit: int = 50


def events(db: Database, q: EventSearch) -> list[dict[str, Any]]:
    """Events matching *q*, newest first; each with its incident's ``status`` (None for an
    event folded into no incident). The shared list:
    :func:`edge.receiver.store.eventlist.events`."""
    query = EventQuery(site=q.site, node=q.node, kind=q.kind, severity=q.severity,
                       since=q.since, status="new" if q.unacked else q.status,
                       limit=max(1, min(q.limit, MAX_LIMIT)), extras=("status",))  # fmt: skip
    return eventlist.events(db, query)


def by_prefix(
    db: Database, prefix: str, node: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Events whose id starts with *prefix* (of *node*, ``SITE/NODE``, when given), an exact
    id alone when one matches; at most *limit*, newest first."""
    site_node = node.split("/", 1) if node and "/" in node else None
    extra, params = "", []
    if site_node:
        extra = " AND site = ? AND node = ?"
        params = site_node
    for term, value in (("id = ?", prefix), ("substr(id, 1, ?) = ?", None)):
        args: tuple[object, ...] = (value,) if value is not None else (len(prefix), prefix)
        rows = db.query(
            f"SELECT site, node, id, kind, severity, received FROM events WHERE {term}{extra}"  # noqa: S608
            " ORDER BY seq DESC LIMIT ?",
            (*args, *params, limit),
        )
        if rows:
            cols = ("site", "node", "id", "kind", "severity", "received")
            return [dict(zip(cols, r, strict=True)) for r in rows]
    return []


def enrolled(db: Database) -> list[tuple[str, str]]:
    """(site, node) of every enrolled node."""
    return [
        (str(s), str(n)) for s, n in db.query("SELECT site, node FROM nodes ORDER BY site, node")
    ]


def known_kinds(db: Database) -> list[str]:
    """Every kind a filter may name: the vocabulary's and any stored one."""
    return sorted(eventlist.stored_kinds(db) | {k.value for k in Kind})
