"""What the dashboard reads: events with their snapshot and acknowledgement, filtered and
paged by keyset (``before_seq``: older than this; ``after_seq``: newer, for the live list),
and one event with everything the detail page shows."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.core.kinds import Kind, Severity, State
from edge.receiver.store.database import Database
from edge.receiver.store.reads import where
from edge.receiver.web.params import text, whole

PAGE = 50
FILTERS = ("site", "node", "kind", "severity", "state")
_COLS = ("seq", "site", "node", "id", "kind", "severity", "state", "camera", "sensor",
         "incident", "clip_id", "snapshot_id", "time", "received", "payload", "snapshot_sha",
         "acked_by")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Query:
    """A page of the alert list."""

    site: str | None = None
    node: str | None = None
    kind: str | None = None
    severity: str | None = None
    state: str | None = None
    before_seq: int | None = None
    after_seq: int | None = None
    limit: int = PAGE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """From a query string; empty filters are ignored, a number that is not one answers
        400 (:mod:`edge.receiver.web.params`)."""
        words = {k: text(params, k) for k in FILTERS}
        number = functools.partial(whole, params)
        return cls(
            **words,
            before_seq=number("before_seq"),
            after_seq=number("after_seq"),
            limit=max(1, min(number("limit") or PAGE, 500)),
        )

    def filters(self) -> dict[str, str]:
        """The filters that are set (for links that keep them)."""
        return {f: v for f in FILTERS if (v := getattr(self, f))}


def events(db: Database, q: Query) -> list[dict[str, Any]]:
    """Events matching *q*, newest first (at most ``q.limit``)."""
    clause, params = where(
        {c: getattr(q, c) for c in FILTERS}, table="e.", before_seq=q.before_seq,
        after_seq=q.after_seq,
    )  # fmt: skip
    sql = (  # the clause holds column names and placeholders only
        "SELECT e.seq, e.site, e.node, e.id, e.kind, e.severity, e.state, e.camera, e.sensor,"  # noqa: S608
        " e.incident, e.clip_id, e.snapshot_id, e.time, e.received, e.payload, s.sha256,"
        " a.username FROM events e LEFT JOIN snapshots s ON s.site = e.site"
        " AND s.node = e.node AND s.id = e.snapshot_id LEFT JOIN acks a ON a.site = e.site"
        f" AND a.node = e.node AND a.event_id = e.id{clause} ORDER BY e.seq DESC LIMIT ?"
    )
    rows = db.query(sql, (*params, q.limit))
    out = []
    for r in rows:
        row = dict(zip(_COLS, r, strict=True))
        payload = _json(row.pop("payload"))
        row["zones"] = [str(z) for z in payload.get("zones") or []]
        out.append(row)
    return out


def newest_seq(db: Database) -> int:
    """The newest event's seq (0: none)."""
    row = db.query("SELECT MAX(seq) FROM events")
    return int(row[0][0] or 0)


def choices(db: Database) -> dict[str, list[str]]:
    """Values for the filter menus."""
    nodes = db.query("SELECT site, node FROM nodes ORDER BY site, node")
    kinds = [str(r[0]) for r in db.query("SELECT DISTINCT kind FROM events")]
    return {
        "site": sorted({str(s) for s, _ in nodes}),
        "node": sorted({str(n) for _, n in nodes}),
        "kind": sorted({*kinds, *(str(k) for k in Kind if k != Kind.NODE_HEALTH)}),
        "severity": [str(s) for s in Severity],
        "state": [str(s) for s in State],
    }


def incident(
    db: Database, site: str, incident_id: str | None, node: str, event_id: str
) -> list[Any]:
    """The other events of the same incident (than *node*'s *event_id*)."""
    if not incident_id:
        return []
    cols = ("seq", "node", "id", "kind", "severity", "state", "camera", "sensor", "time")
    rows = db.query(
        f"SELECT {', '.join(cols)} FROM events WHERE site = ? AND incident = ?"  # noqa: S608
        " AND NOT (node = ? AND id = ?) ORDER BY seq LIMIT 100",
        (site, incident_id, node, event_id),
    )
    return [dict(zip(cols, r, strict=True)) for r in rows]


def media_path(db: Database, kind: str, site: str, node: str, sha256: str) -> str | None:
    """Where *site*/*node*'s complete clip or snapshot with *sha256* is stored."""
    if kind == "clip":
        sql = ("SELECT path FROM clips WHERE sha256 = ? AND site = ? AND node = ?"
               " AND state = 'complete' LIMIT 1")  # fmt: skip
    else:
        sql = "SELECT path FROM snapshots WHERE sha256 = ? AND site = ? AND node = ? LIMIT 1"
    rows = db.query(sql, (sha256, site, node))
    return str(rows[0][0]) if rows and rows[0][0] else None


def _json(text: object) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
