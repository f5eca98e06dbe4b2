"""Occurrences and incidents kept at every commit of events, in the caller's transaction.

An occurrence is one thing from START to END (or one INSTANT) of one node; its incident is
the event's ``incident`` or, when the node sent none, the occurrence id. Only events that
were just inserted are folded in (duplicates and replays never reach here), so nothing is
counted twice. Events may arrive out of order (a node's outbox drains late): an occurrence
is closed by its END whenever that END comes, its start is the earliest event time seen.
Severity only rises. A new alarm or critical occurrence joining a closed incident reopens it
as ``new`` (a ``reopen`` note by the user ``receiver``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from edge.core.logs import get_logger
from edge.receiver.store.sqlcursor import SqlCursor as Cursor

log = get_logger(__name__)

SEV_RANK = {"info": 0, "warning": 1, "alarm": 2, "critical": 3}
"""incidents.sev_rank of each severity (an unknown one ranks as info)."""
REOPEN_RANK = 2
"""A new occurrence of this rank or higher (alarm, critical) reopens a closed incident."""
RECEIVER_USER = "receiver"
"""The user named by notes the receiver writes itself (reopen)."""
CHUNK = 100
"""Keys per lookup."""

OCC_COLUMNS = ("site", "node", "occurrence", "incident", "kind", "severity", "camera",
               "sensor", "zones", "first_event", "last_event", "first_seq", "last_seq",
               "started", "ended", "received", "is_open", "clip_id", "snapshot_id")  # fmt: skip
INC_COLUMNS = ("site", "incident", "severity", "sev_rank", "kinds", "nodes", "first_seq",
               "last_seq", "started", "last_time", "received", "occurrences",
               "open_occurrences", "status", "updated")  # fmt: skip
_TYPES = dict.fromkeys(("first_seq", "last_seq", "is_open", "sev_rank", "occurrences",
                        "open_occurrences"), "int") | dict.fromkeys(
    ("started", "ended", "received", "last_time", "updated"), "real")  # fmt: skip
"""Columns that are not text."""
ROWS = 500
"""Rows in one upsert statement."""
_INC_AGGREGATES = (*INC_COLUMNS[2:13], "updated")
"""Columns an ingest may change on an existing incident (never the workflow's)."""


class Occurrence(TypedDict):
    """One ``occurrences`` row (:data:`OCC_COLUMNS`)."""

    site: str
    node: str
    occurrence: str
    incident: str
    kind: str
    severity: str
    camera: str | None
    sensor: str | None
    zones: str
    """A JSON list of zone names."""
    first_event: str
    last_event: str
    first_seq: int
    last_seq: int
    started: float
    ended: float | None
    received: float
    is_open: int
    clip_id: str | None
    snapshot_id: str | None


class Incident(TypedDict):
    """The aggregate columns of one ``incidents`` row (:data:`INC_COLUMNS`)."""

    site: str
    incident: str
    severity: str
    sev_rank: int
    kinds: str
    nodes: str
    first_seq: int
    last_seq: int
    started: float
    last_time: float
    received: float
    occurrences: int
    open_occurrences: int
    status: str
    updated: float


_Row = TypeVar("_Row", Occurrence, Incident)


def _occurrence(r: Sequence[Any]) -> Occurrence:
    """An :class:`Occurrence` from a row of :data:`OCC_COLUMNS`."""
    return Occurrence(
        site=r[0], node=r[1], occurrence=r[2], incident=r[3], kind=r[4], severity=r[5],
        camera=r[6], sensor=r[7], zones=r[8], first_event=r[9], last_event=r[10],
        first_seq=r[11], last_seq=r[12], started=r[13], ended=r[14], received=r[15],
        is_open=r[16], clip_id=r[17], snapshot_id=r[18],
    )  # fmt: skip


def _incident(r: Sequence[Any]) -> Incident:
    """An :class:`Incident` from a row of :data:`INC_COLUMNS`."""
    return Incident(
        site=r[0], incident=r[1], severity=r[2], sev_rank=r[3], kinds=r[4], nodes=r[5],
        first_seq=r[6], last_seq=r[7], started=r[8], last_time=r[9], received=r[10],
        occurrences=r[11], open_occurrences=r[12], status=r[13], updated=r[14],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ev:
    """One stored event, as much of it as occurrences and incidents need."""

    seq: int
    site: str
    node: str
    id: str
    kind: str
    severity: str
    state: str
    occurrence: str
    incident: str
    camera: str | None
    sensor: str | None
    zones: tuple[str, ...]
    clip_id: str | None
    snapshot_id: str | None
    time: float
    received: float


def event_of(
    seq: int, site: str, node: str, event_id: str, data: Mapping[str, object], *, received: float
) -> Ev:
    """The :class:`Ev` of stored event *seq* from its parsed payload *data* (an event
    without an occurrence is one of its own; an unreadable time is its receipt)."""
    occurrence = _text(data.get("occurrence")) or event_id
    zones = data.get("zones")
    return Ev(
        seq=seq, site=site, node=node, id=event_id, kind=str(data.get("kind") or "unknown"),
        severity=str(data.get("severity") or "info"), state=str(data.get("state") or "instant"),
        occurrence=occurrence, incident=_text(data.get("incident")) or occurrence,
        camera=_text(data.get("camera")), sensor=_text(data.get("sensor")),
        zones=tuple(str(z) for z in zones) if isinstance(zones, list) else (),
        clip_id=_text(data.get("clip_id")), snapshot_id=_text(data.get("snapshot_id")),
        time=_unix(data.get("time"), received), received=received,
    )  # fmt: skip


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _unix(value: object, default: float) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return default
    return default


def rank(severity: object) -> int:
    """sev_rank of *severity*."""
    return SEV_RANK.get(str(severity), 0)


def apply(cur: Cursor, events: Sequence[Ev], now: float) -> None:
    """Fold *events* (just inserted, any order) into occurrences and incidents."""
    if not events:
        return
    ordered = sorted(events, key=lambda e: e.seq)
    occ_keys = list(dict.fromkeys((e.site, e.node, e.occurrence) for e in ordered))
    known = _load(cur, "occurrences", OCC_COLUMNS, ("site", "node", "occurrence"), occ_keys,
                  make=_occurrence)  # fmt: skip
    occs: dict[tuple[str, ...], Occurrence] = {}
    latest: dict[tuple[str, ...], float] = {}
    for e in ordered:
        key: tuple[str, ...] = (e.site, e.node, e.occurrence)
        occs[key] = _fold(occs.get(key) or known.get(key), e)
        latest[key] = max(latest.get(key, e.time), e.time)
    _upsert(
        cur,
        "occurrences",
        OCC_COLUMNS,
        "site, node, occurrence",
        changing=OCC_COLUMNS[3:],
        rows=occs,
    )
    inc_keys = list(dict.fromkeys((o["site"], o["incident"]) for o in occs.values()))
    stored = _load(cur, "incidents", INC_COLUMNS, ("site", "incident"), inc_keys, make=_incident)
    incs: dict[tuple[str, ...], Incident] = {}
    reopen: list[tuple[str, ...]] = []
    for key, o in occs.items():
        before = known.get(key)
        ikey = (o["site"], o["incident"])
        was = stored.get(ikey)
        inc = incs.get(ikey) or (was.copy() if was else _new_incident(o, now))
        _join(inc, before, o, now)
        inc["last_time"] = max(float(inc["last_time"]), latest[key])  # an UPDATE's time too
        incs[ikey] = inc
        closed = was is not None and was["status"] == "closed"
        if closed and before is None and rank(o["severity"]) >= REOPEN_RANK:
            reopen.append(ikey)
    _upsert(cur, "incidents", INC_COLUMNS, "site, incident", changing=_INC_AGGREGATES, rows=incs)
    for site, incident in dict.fromkeys(reopen):
        _reopen(cur, site, incident, now)


def _fold(o: Occurrence | None, e: Ev) -> Occurrence:
    """Occurrence *o* (None: none yet) with event *e* added."""
    ends = e.state in ("end", "instant")
    if o is None:
        return {
            "site": e.site, "node": e.node, "occurrence": e.occurrence, "incident": e.incident,
            "kind": e.kind, "severity": e.severity, "camera": e.camera, "sensor": e.sensor,
            "zones": json.dumps(list(e.zones)), "first_event": e.id, "last_event": e.id,
            "first_seq": e.seq, "last_seq": e.seq, "started": e.time,
            "ended": e.time if ends else None, "received": e.received,
            "is_open": 0 if ends else 1, "clip_id": e.clip_id, "snapshot_id": e.snapshot_id,
        }  # fmt: skip
    o = o.copy()
    if rank(e.severity) > rank(o["severity"]):
        o["severity"] = e.severity
    zones = json.loads(o["zones"] or "[]")
    zones += [z for z in e.zones if z not in zones]
    o["zones"] = json.dumps(zones)
    o["camera"] = o["camera"] or e.camera
    o["sensor"] = o["sensor"] or e.sensor
    if e.seq > int(o["last_seq"]):
        o["last_seq"], o["last_event"] = e.seq, e.id
        o["clip_id"] = e.clip_id or o["clip_id"]
        o["snapshot_id"] = e.snapshot_id or o["snapshot_id"]
    else:
        o["clip_id"] = o["clip_id"] or e.clip_id
        o["snapshot_id"] = o["snapshot_id"] or e.snapshot_id
    o["started"] = min(float(o["started"]), e.time)
    if ends:
        o["is_open"] = 0
        o["ended"] = max(float(o["ended"] or e.time), e.time)
    return o


def _new_incident(o: Occurrence, now: float) -> Incident:
    """An incident before its first occurrence joins."""
    return {
        "site": o["site"], "incident": o["incident"], "severity": "info", "sev_rank": 0,
        "kinds": "", "nodes": "", "first_seq": o["first_seq"], "last_seq": o["last_seq"],
        "started": o["started"], "last_time": o["started"], "received": o["received"],
        "occurrences": 0, "open_occurrences": 0, "status": "new", "updated": now,
    }  # fmt: skip


def _join(inc: Incident, before: Occurrence | None, o: Occurrence, now: float) -> None:
    """Incident *inc* with occurrence *o* (stored as *before*, None when new) counted in."""
    if rank(o["severity"]) > int(inc["sev_rank"]):
        inc["severity"], inc["sev_rank"] = o["severity"], rank(o["severity"])
    inc["kinds"] = _union(inc["kinds"], o["kind"])
    inc["nodes"] = _union(inc["nodes"], o["node"])
    inc["first_seq"] = min(int(inc["first_seq"]), int(o["first_seq"]))
    inc["last_seq"] = max(int(inc["last_seq"]), int(o["last_seq"]))
    inc["started"] = min(float(inc["started"]), float(o["started"]))
    latest = max(float(o["started"]), float(o["ended"] or o["started"]))
    inc["last_time"] = max(float(inc["last_time"]), latest)
    inc["received"] = min(float(inc["received"]), float(o["received"]))
    inc["occurrences"] = int(inc["occurrences"]) + (before is None)
    was_open = int(before["is_open"]) if before is not None else 0
    inc["open_occurrences"] = int(inc["open_occurrences"]) + int(o["is_open"]) - was_open
    inc["updated"] = now


def any_of(columns: Sequence[str], keys: Sequence[tuple[str, ...]]) -> tuple[str, list[object]]:
    """``(a = ? AND b = ?) OR ...`` over *keys* and its parameters: both engines look each
    key up in the index (SQLite scans the whole index for a row value ``IN (VALUES ...)``)."""
    one = "(" + " AND ".join(f"{c} = ?" for c in columns) + ")"
    return " OR ".join([one] * len(keys)), [v for k in keys for v in k]


def _union(joined: str, value: str) -> str:
    items = set(filter(None, joined.split(",")))
    items.add(value)
    return ",".join(sorted(items))


def _load(
    cur: Cursor,
    table: str,
    columns: Sequence[str],
    key_columns: Sequence[str],
    keys: Sequence[tuple[str, ...]],
    *,
    make: Callable[[Sequence[Any]], _Row],
) -> dict[tuple[str, ...], _Row]:
    """Stored rows of *table* with these keys, each made by *make* from its *columns*
    (PostgreSQL: locked for this transaction)."""
    out: dict[tuple[str, ...], _Row] = {}
    at = [columns.index(c) for c in key_columns]
    pg = cur.engine == "postgresql"
    names = ", ".join(f"t.{c}" for c in columns)
    for part in range(0, len(keys), ROWS if pg else CHUNK):
        if pg:  # a join on the keys' arrays: a long OR costs PostgreSQL more to plan
            source, params = cur.rows(("text",) * len(key_columns), keys[part : part + ROWS])
            on = " AND ".join(f"t.{c} = k.{c}" for c in key_columns)
            sql = (f"SELECT {names} FROM {table} t JOIN ({source})"  # noqa: S608 - constants
                   f" AS k ({', '.join(key_columns)}) ON {on} FOR UPDATE OF t")  # fmt: skip
        else:
            term, params = any_of([f"t.{c}" for c in key_columns], keys[part : part + CHUNK])
            sql = f"SELECT {names} FROM {table} t WHERE {term}"  # noqa: S608 - constants
        for row in cur.execute(sql, params).fetchall():
            out[tuple(str(row[i]) for i in at)] = make(row)
    return out


def _upsert(
    cur: Cursor,
    table: str,
    columns: Sequence[str],
    conflict: str,
    *,
    changing: Iterable[str],
    rows: Mapping[tuple[str, ...], Mapping[str, object]],
) -> None:
    """Insert or update *rows* of *table*, ``ROWS`` to a statement (PostgreSQL: one array
    per column), setting the *changing* columns of the rows that exist."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in changing)
    types = [_TYPES.get(c, "text") for c in columns]
    values = [[r[c] for c in columns] for r in rows.values()]
    for part in range(0, len(values), ROWS):
        source, params = cur.rows(types, values[part : part + ROWS])
        cur.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) {source}"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}",
            params,
        )


def _reopen(cur: Cursor, site: str, incident: str, now: float) -> None:
    """A closed incident back to ``new`` (the assignee stays) with a ``reopen`` note whose
    audit_hash is empty: the ingest holds no receiver key, so the next workflow action seals
    the note into the chain (:mod:`edge.receiver.store.incident_seal`)."""
    changed = cur.execute(
        "UPDATE incidents SET status = 'new', acked_by = NULL, acked_at = NULL,"
        " closed_by = NULL, closed_at = NULL, outcome = NULL, report_no = NULL, updated = ?"
        " WHERE site = ? AND incident = ? AND status = 'closed'",
        (now, site, incident),
    ).rowcount
    if changed:
        cur.execute(
            "INSERT INTO incident_notes (site, incident, username, time, action, text,"
            " audit_hash) VALUES (?, ?, ?, ?, 'reopen', ?, '')",
            (site, incident, RECEIVER_USER, now, "a new alarm joined the closed incident"),
        )
        log.info("incident.reopened", site=site, incident=incident)
