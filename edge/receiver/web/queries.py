"""What the dashboard reads: events with their snapshot and acknowledgement, filtered and
paged by keyset (``before_seq``: older than this; ``after_seq``: newer, for the live list),
and one event with everything the detail page shows. The SQL is the store's: the event list
is the one the command line shares (:mod:`edge.receiver.store.eventlist`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.core.kinds import Kind, Severity, State
from edge.receiver.store import eventlist, eventsearch, reads
from edge.receiver.store.database import Database
from edge.receiver.store.eventlist import FILTERS, EventQuery
from edge.receiver.web.params import text, whole

PAGE = 50


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


def events(db: Database, q: Query) -> list[dict[str, object]]:
    """Events matching *q*, newest first (at most ``q.limit``): the shared list
    (:func:`edge.receiver.store.eventlist.events`) with the snapshot's sha256, who
    acknowledged it and the payload's zones."""
    query = EventQuery(**{c: getattr(q, c) for c in FILTERS}, before_seq=q.before_seq,
                       after_seq=q.after_seq, limit=q.limit,
                       extras=("payload", "snapshot_sha", "acked_by"))  # fmt: skip
    out = []
    for row in eventlist.events(db, query):
        payload = _json(row.pop("payload"))
        row["zones"] = [str(z) for z in payload.get("zones") or []]
        out.append(row)
    return out


def newest_seq(db: Database) -> int:
    """The newest event's seq (0: none)."""
    return eventlist.newest_seq(db)


def choices(db: Database) -> dict[str, list[str]]:
    """Values for the filter menus."""
    nodes = eventsearch.enrolled(db)
    kinds = eventlist.stored_kinds(db)
    return {
        "site": sorted({s for s, _ in nodes}),
        "node": sorted({n for _, n in nodes}),
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
    return eventlist.incident_siblings(db, site, incident_id, node, event_id)


def media_path(db: Database, kind: str, site: str, node: str, sha256: str) -> str | None:
    """Where *site*/*node*'s complete clip or snapshot with *sha256* is stored."""
    return reads.media_path(db, kind, site, node, sha256)


def _json(text: object) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
