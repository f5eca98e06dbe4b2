"""The one read of the events table as a list, which the command line (``edge receive
list``, :mod:`edge.receiver.store.eventsearch`), the store's own views
(:func:`edge.receiver.store.reads.events`) and the dashboard's alert list
(:mod:`edge.receiver.web.queries`) share: one column list, one filter, keyset pages by seq
(``before_seq``: older than this; ``after_seq``: newer), newest first. What a caller wants
beyond the stored columns it names in ``extras``; only those joins are made."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.receiver.store.database import Database

EVENT_COLUMNS = ("seq", "site", "node", "id", "kind", "severity", "state", "camera", "sensor",
                 "incident", "clip_id", "snapshot_id", "time", "received")  # fmt: skip
"""What a listed event holds."""

EXTRAS: dict[str, tuple[str, str]] = {
    "status": (
        "i.status",
        " LEFT JOIN occurrences o ON o.site = e.site AND o.node = e.node"
        " AND o.occurrence = e.occurrence"
        " LEFT JOIN incidents i ON i.site = o.site AND i.incident = o.incident",
    ),
    "payload": ("e.payload", ""),
    "snapshot_sha": (
        "s.sha256",
        " LEFT JOIN snapshots s ON s.site = e.site AND s.node = e.node AND s.id = e.snapshot_id",
    ),
    "acked_by": (
        "a.username",
        " LEFT JOIN acks a ON a.site = e.site AND a.node = e.node AND a.event_id = e.id",
    ),
}
"""What a listed event may hold besides its columns, in this order: the workflow status of
its incident (None when it is folded into none), its payload (JSON text), its snapshot's
sha256 and who acknowledged it: (the selected expression, the join it needs)."""

FILTERS = ("site", "node", "kind", "severity", "state")
"""Columns a list may be filtered on (equal to a value)."""


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events to list, newest first, and what each holds."""

    site: str | None = None
    node: str | None = None
    kind: str | None = None
    severity: str | None = None
    state: str | None = None
    since: float | None = None
    """Received at or after this UNIX time."""
    before_seq: int | None = None
    """Page: only events older than this one."""
    after_seq: int | None = None
    """Only events newer than this one (the live list)."""
    status: str | None = None
    """Of the event's incident (``open``: any but closed); implies the ``status`` extra."""
    limit: int = 50
    extras: tuple[str, ...] = ()
    """Names from :data:`EXTRAS`."""


def where(
    equal: Mapping[str, object],
    *,
    table: str = "",
    since: float | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> tuple[str, list[object]]:
    """`` WHERE ...`` over the events table (aliased *table*, e.g. ``"e."``) and its
    parameters: columns equal to the values that are not None, a received time and a page
    window by seq. Column names come from the caller's constants, values are parameters."""
    terms: list[str] = []
    params: list[object] = []
    for column, value in equal.items():
        if value is not None:
            terms.append(f"{table}{column} = ?")
            params.append(value)
    for term, value in ((f"{table}received >= ?", since), (f"{table}seq < ?", before_seq),
                        (f"{table}seq > ?", after_seq)):  # fmt: skip
        if value is not None:
            terms.append(term)
            params.append(value)
    return (f" WHERE {' AND '.join(terms)}" if terms else ""), params


@functools.cache
def _shape(extras: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """(``SELECT`` columns and joins, result keys) for a set of known extras (made once)."""
    names = [name for name in EXTRAS if name in extras]
    columns = ", ".join([*(f"e.{c}" for c in EVENT_COLUMNS), *(EXTRAS[x][0] for x in names)])
    joins = "".join(EXTRAS[x][1] for x in names)
    return f"{columns} FROM events e{joins}", (*EVENT_COLUMNS, *names)


def events(db: Database, q: EventQuery) -> list[dict[str, Any]]:
    """Events matching *q*, newest first (at most ``q.limit``, which the caller bounds):
    each a dict of :data:`EVENT_COLUMNS` then the extras asked for, in :data:`EXTRAS`'s
    order. ValueError for an extra that is not one."""
    wanted = frozenset(q.extras) | ({"status"} if q.status is not None else frozenset())
    unknown = wanted - EXTRAS.keys()
    if unknown:
        raise ValueError(f"unknown event extras {sorted(unknown)}: known {list(EXTRAS)}")
    selected, keys = _shape(wanted)
    clause, params = where(
        {c: getattr(q, c) for c in FILTERS}, table="e.", since=q.since,
        before_seq=q.before_seq, after_seq=q.after_seq,
    )  # fmt: skip
    if q.status is not None:
        term = "i.status <> 'closed'" if q.status == "open" else "i.status = ?"
        clause = f"{clause} AND {term}" if clause else f" WHERE {term}"
        params += [] if q.status == "open" else [q.status]
    rows = db.query(  # names and placeholders from the constants above; values are parameters
        f"SELECT {selected}{clause} ORDER BY e.seq DESC LIMIT ?",
        (*params, q.limit),
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def newest_seq(db: Database) -> int:
    """The newest event's seq (0: none)."""
    row = db.query("SELECT MAX(seq) FROM events")
    return int(row[0][0] or 0)


def stored_kinds(db: Database) -> set[str]:
    """Every kind a stored event has."""
    return {str(k) for (k,) in db.query("SELECT DISTINCT kind FROM events")}


INCIDENT_COLUMNS = ("seq", "node", "id", "kind", "severity", "state", "camera", "sensor", "time")
"""What :func:`incident_siblings` gives of each event."""


def incident_siblings(
    db: Database, site: str, incident_id: str, node: str, event_id: str, *, limit: int = 100
) -> list[dict[str, object]]:
    """The other events of *site*'s incident *incident_id* (than *node*'s *event_id*),
    oldest first, at most *limit*."""
    rows = db.query(
        f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM events WHERE site = ? AND incident = ?"  # noqa: S608
        " AND NOT (node = ? AND id = ?) ORDER BY seq LIMIT ?",
        (site, incident_id, node, event_id, limit),
    )
    return [dict(zip(INCIDENT_COLUMNS, r, strict=True)) for r in rows]
