"""The alarm console's read layer: incidents newest first (keyset pages on
``incidents.last_seq``, which is unique: every event belongs to one incident), each with
its occurrences; counts for "N new" and the unacknowledged banner; one incident with its
notes and events. Info and motion are hidden unless asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from edge.receiver.store.database import Cursor, Database
from edge.receiver.store.eventlist import EVENT_COLUMNS as LISTED
from edge.receiver.store.occurrences import SEV_RANK, any_of, rank

MAX_LIMIT = 1000
"""Incidents in one page at most."""
CHUNK = 100
"""Keys per lookup of occurrences and acknowledgements."""
STATUSES = ("new", "acknowledged", "in_progress", "closed")
"""Workflow states of an incident (``open`` in a query: any but closed)."""

INCIDENT_COLUMNS = ("seq", "site", "incident", "severity", "sev_rank", "kinds", "nodes",
                    "first_seq", "last_seq", "started", "last_time", "received",
                    "occurrence_count", "open_occurrences", "status", "acked_by", "acked_at",
                    "assignee", "closed_by", "closed_at", "outcome", "report_no",
                    "updated", "held")  # fmt: skip
"""Keys of an incident dict (``occurrence_count``: the incidents.occurrences column, since
``occurrences`` holds the list; ``held``: since when it is on hold, or None)."""
_INCIDENT_SELECT = ", ".join(
    "i.occurrences" if c == "occurrence_count" else f"i.{c}" for c in INCIDENT_COLUMNS
)
OCCURRENCE_COLUMNS = ("seq", "site", "node", "occurrence", "incident", "kind", "severity",
                      "camera", "sensor", "zones", "first_event", "last_event", "first_seq",
                      "last_seq", "started", "ended", "received", "is_open", "clip_id",
                      "snapshot_id")  # fmt: skip
NOTE_COLUMNS = ("seq", "site", "incident", "username", "time", "action", "text", "audit_hash")
EVENT_COLUMNS = (*LISTED[:7], "occurrence", *LISTED[7:])
"""An incident's events: the event list's columns (:mod:`edge.receiver.store.eventlist`)
with the occurrence after the state."""


class QueryError(ValueError):
    """A console query that names something that cannot be (a status, a severity)."""


@dataclass(frozen=True, slots=True)
class ConsoleQuery:
    """Which incidents the console lists."""

    site: str | None = None
    node: str | None = None
    kind: str | None = None
    severity: str | None = None
    """Exactly this severity (else ``min_rank``)."""
    min_rank: int = 1
    """Lowest sev_rank shown: the default hides info (0)."""
    status: str | None = None
    """new, acknowledged, in_progress, closed, or open (= not closed)."""
    unacked: bool = False
    """Only status new."""
    since: float | None = None
    """UNIX s: incidents whose last_time is at or after it."""
    show_all: bool = False
    """Info and motion too."""
    before_seq: int | None = None
    """Older page: last_seq below this."""
    after_seq: int | None = None
    """Newer page: last_seq above this (the ``limit`` just after it, still newest first)."""
    limit: int = 50


def _contains(column: str, value: str) -> tuple[str, str]:
    """A term for "comma-joined *column* holds *value*" and its LIKE pattern."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"(',' || i.{column} || ',') LIKE ? ESCAPE '\\'", f"%,{escaped},%"


def _where(q: ConsoleQuery) -> tuple[str, list[object]]:
    terms: list[str] = []
    params: list[object] = []

    def add(term: str, *values: object) -> None:
        terms.append(term)
        params.extend(values)

    if q.site is not None:
        add("i.site = ?", q.site)
    for column, value in (("nodes", q.node), ("kinds", q.kind)):
        if value is not None:
            add(*_contains(column, value))
    if q.severity is not None:
        if q.severity not in SEV_RANK:
            raise QueryError(f"unknown severity {q.severity!r}: one of {', '.join(SEV_RANK)}")
        add("i.severity = ?", q.severity)
    elif not q.show_all and q.min_rank > 0:
        add("i.sev_rank >= ?", q.min_rank)
    if not q.show_all and q.kind != "motion":
        add("i.kinds <> 'motion'")
    if q.unacked:
        add("i.status = 'new'")
    if q.status is not None:
        add(*_status(q.status))
    window: tuple[tuple[str, float | None], ...] = (
        ("i.last_time >= ?", q.since), ("i.last_seq < ?", q.before_seq),
        ("i.last_seq > ?", q.after_seq))  # fmt: skip
    for term, bound in window:
        if bound is not None:
            add(term, bound)
    return (" WHERE " + " AND ".join(terms)) if terms else "", params


def _status(status: str) -> tuple[str, ...]:
    """The term (and parameter) for *status*."""
    if status == "open":
        return ("i.status <> 'closed'",)
    if status not in STATUSES:
        raise QueryError(f"unknown status {status!r}: one of {', '.join(STATUSES)}, open")
    return "i.status = ?", status


def incidents(db: Database, q: ConsoleQuery) -> list[dict[str, Any]]:
    """Incidents matching *q*, newest last_seq first, each with ``occurrences`` (see
    :func:`occurrences_of`; info and motion ones left out unless *q* shows them or they
    are all the incident has). Paging: older with ``before_seq`` = the last one's
    last_seq; newer with ``after_seq`` = the first one's (the page holds the ``limit``
    incidents just after ``after_seq``, so paging forward never skips one)."""
    clause, params = _where(q)
    forward = q.after_seq is not None and q.before_seq is None
    order = "ASC" if forward else "DESC"
    limit = max(1, min(q.limit, MAX_LIMIT))
    with db.transaction() as cur:
        rows = cur.execute(
            f"SELECT {_INCIDENT_SELECT} FROM incidents i{clause}"  # noqa: S608 - constants
            f" ORDER BY i.last_seq {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        found = [dict(zip(INCIDENT_COLUMNS, r, strict=True)) for r in rows]
        if forward:
            found.reverse()
        occs = occurrences_of(cur, [(i["site"], i["incident"]) for i in found])
    everything = q.show_all or q.severity is not None or q.kind == "motion"
    for inc in found:
        mine = occs.get((inc["site"], inc["incident"]), [])
        shown = mine if everything else [o for o in mine if _shown(o, q.min_rank)]
        inc["occurrences"] = shown or mine
    return found


def _shown(o: dict[str, object], min_rank: int) -> bool:
    return o["kind"] != "motion" and rank(o["severity"]) >= min_rank


def count_after(db: Database, q: ConsoleQuery, after_seq: int) -> int:
    """How many incidents match *q* (its paging ignored) with last_seq above *after_seq*."""
    clause, params = _where(replace(q, before_seq=None, after_seq=after_seq))
    rows = db.query(f"SELECT COUNT(*) FROM incidents i{clause}", params)  # noqa: S608
    return int(rows[0][0])


def unacked(db: Database) -> dict[str, int]:
    """Incidents of status new that the console shows by default, by severity."""
    out = {"warning": 0, "alarm": 0, "critical": 0}
    for severity, n in db.query(
        "SELECT severity, COUNT(*) FROM incidents WHERE status = 'new' AND sev_rank >= 1"
        " AND kinds <> 'motion' GROUP BY severity"
    ):
        out[str(severity)] = int(n)
    return out


def newest_seq(db: Database) -> int:
    """The newest incident's last_seq (0 when there is none): where the live list starts."""
    rows = db.query("SELECT MAX(last_seq) FROM incidents")
    return int(rows[0][0] or 0)


def incident(db: Database, site: str, incident: str) -> dict[str, Any] | None:
    """One incident: its row, every occurrence, ``notes`` (the workflow's, oldest first) and
    ``events`` (every stored event of its occurrences, in order of receipt)."""
    with db.transaction() as cur:
        row = cur.execute(
            f"SELECT {_INCIDENT_SELECT} FROM incidents i"  # noqa: S608 - constants
            " WHERE i.site = ? AND i.incident = ?",
            (site, incident),
        ).fetchone()
        if row is None:
            return None
        out = dict(zip(INCIDENT_COLUMNS, row, strict=True))
        out["occurrences"] = occurrences_of(cur, [(site, incident)]).get((site, incident), [])
        notes = cur.execute(
            f"SELECT {', '.join(NOTE_COLUMNS)} FROM incident_notes"  # noqa: S608 - constants
            " WHERE site = ? AND incident = ? ORDER BY seq",
            (site, incident),
        ).fetchall()
        out["notes"] = [dict(zip(NOTE_COLUMNS, n, strict=True)) for n in notes]
        events = cur.execute(
            f"SELECT {', '.join('e.' + c for c in EVENT_COLUMNS)} FROM occurrences o"  # noqa: S608
            " JOIN events e ON e.site = o.site AND e.node = o.node"
            " AND e.occurrence = o.occurrence WHERE o.site = ? AND o.incident = ?"
            " ORDER BY e.seq",
            (site, incident),
        ).fetchall()
        out["events"] = [dict(zip(EVENT_COLUMNS, e, strict=True)) for e in events]
    return out


def occurrences_of(
    cur: Cursor, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, object]]]:
    """Occurrences of the incidents (site, incident) *keys*, oldest first, each with
    ``duration_s`` (ended - started; None while open), ``snapshot_sha`` (of its snapshot,
    when stored and not deleted by retention) and ``acked_by`` (who first acknowledged one
    of its events, or None)."""
    out: dict[tuple[str, str], list[dict[str, object]]] = {k: [] for k in keys}
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(keys))
    cols = ", ".join(f"o.{c}" for c in OCCURRENCE_COLUMNS)
    for part in range(0, len(unique), CHUNK):
        term, params = any_of(("o.site", "o.incident"), unique[part : part + CHUNK])
        for r in cur.execute(
            f"SELECT {cols}, s.sha256 FROM occurrences o LEFT JOIN snapshots s"  # noqa: S608
            f" ON s.site = o.site AND s.node = o.node AND s.id = o.snapshot_id"
            f" AND s.deleted IS NULL WHERE {term}",  # none deleted by retention
            params,
        ).fetchall():
            o = dict(zip(OCCURRENCE_COLUMNS, r[:-1], strict=True))
            o["snapshot_sha"] = r[-1]
            ended = o["ended"]
            o["duration_s"] = (
                None if ended is None else max(0.0, float(ended) - float(o["started"]))
            )
            found.append(o)
    acked_by = _acked_by(cur, [(o["site"], o["node"], o["occurrence"]) for o in found])
    for o in sorted(found, key=lambda o: int(o["first_seq"])):
        o["acked_by"] = acked_by.get((o["site"], o["node"], o["occurrence"]))
        out.setdefault((o["site"], o["incident"]), []).append(o)
    return out


def _acked_by(cur: Cursor, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, ...], str]:
    """Who first acknowledged an event of each occurrence (site, node, occurrence) of *keys*
    (the per-event acknowledgements)."""
    out: dict[tuple[str, ...], tuple[float, str]] = {}
    for part in range(0, len(keys), CHUNK):
        term, params = any_of(("e.site", "e.node", "e.occurrence"), keys[part : part + CHUNK])
        for site, node, occurrence, user, when in cur.execute(
            "SELECT e.site, e.node, e.occurrence, a.username, a.time FROM events e JOIN acks a"  # noqa: S608
            f" ON a.site = e.site AND a.node = e.node AND a.event_id = e.id WHERE {term}",
            params,
        ).fetchall():
            key = (str(site), str(node), str(occurrence))
            if key not in out or float(when) < out[key][0]:
                out[key] = (float(when), str(user))
    return {k: user for k, (_, user) in out.items()}
