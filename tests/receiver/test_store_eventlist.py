"""The one event list (edge.receiver.store.eventlist) on SQLite and PostgreSQL, through the
three readers that share it: the store's view (``reads.events``), the command line's search
(``eventsearch.events``, ``edge receive list``) and the dashboard's alert list
(``web.queries.events``): the same events in the same order with the same stored columns,
each with its own extras; filters, keyset pages and the incident status."""

from __future__ import annotations

import time
from typing import Any

import pytest
from consolestores import shared_store

from edge.bench.console import event
from edge.core.ids import new_id
from edge.receiver.store import eventlist, eventsearch, reads
from edge.receiver.store.eventlist import EVENT_COLUMNS, EventQuery
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import queries

__all__ = ["shared_store"]

T0 = time.time() - 3600


def _site(store: ReceiverStore) -> tuple[str, list[str], str]:
    """A fresh site with four events (two of one incident, a door on another node, a
    motion), oldest first: (site, their ids, the incident)."""
    site, incident = f"l{new_id()[-10:]}", new_id()
    batch = [
        event(site, "n1", "person", "alarm", "start", when=T0, incident=incident),
        event(
            site,
            "n1",
            "person",
            "alarm",
            "end",
            when=T0 + 5,
            incident=incident,
            zones=["dock", "lorong"],
        ),
        event(site, "n2", "door_open", "warning", "instant", when=T0 + 9),
        event(site, "n1", "motion", "info", "instant", when=T0 + 12),
    ]
    store.commit(batch)
    return site, [b.id for b in batch], incident


def _stored(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in EVENT_COLUMNS) for r in rows]


def test_cli_store_and_dashboard_share_one_list(shared_store: ReceiverStore) -> None:
    """The three readers give the same events, newest first, with the same stored columns;
    the CLI's adds the incident status, the dashboard's the snapshot, the acknowledgement
    and the payload's zones (in that key order, as before)."""
    store = shared_store
    site, ids, _ = _site(store)
    view = reads.events(store.db, reads.EventFilter(site=site))
    cli = eventsearch.events(store.db, eventsearch.EventSearch(site=site))
    web = queries.events(store.db, queries.Query(site=site))
    assert [r["id"] for r in view] == ids[::-1]
    assert _stored(view) == _stored(cli) == _stored(web)
    assert list(view[0]) == list(EVENT_COLUMNS)
    assert list(cli[0]) == [*EVENT_COLUMNS, "status"]
    assert list(web[0]) == [*EVENT_COLUMNS, "snapshot_sha", "acked_by", "zones"]
    assert web[2]["zones"] == ["dock", "lorong"] and web[0]["acked_by"] is None
    assert {r["status"] for r in cli} == {"new"}


def test_filters_pages_and_status(shared_store: ReceiverStore) -> None:
    """Each filter narrows the list; before_seq and after_seq page by seq; a status filter
    joins the incident (``open``: any but closed); limit bounds the page."""
    store = shared_store
    site, ids, incident = _site(store)

    def listed(**q: Any) -> list[str]:
        return [r["id"] for r in eventlist.events(store.db, EventQuery(site=site, **q))]

    assert listed(node="n2") == [ids[2]] and listed(kind="person") == ids[1::-1]
    assert listed(severity="info") == [ids[3]] and listed(state="end") == [ids[1]]
    seqs = [r["seq"] for r in eventlist.events(store.db, EventQuery(site=site))]
    assert listed(before_seq=seqs[1]) == ids[1::-1] and listed(after_seq=seqs[2]) == ids[:1:-1]
    assert listed(limit=2) == ids[:1:-1]
    assert listed(since=T0 + 3600 * 24) == []
    with store.db.transaction() as cur:  # a test's own change of workflow state
        cur.execute("UPDATE incidents SET status = 'closed' WHERE site = ? AND incident = ?",
                    (site, incident))  # fmt: skip
    closed = set(listed(status="closed"))
    assert closed and closed <= set(ids[:2])
    assert not closed & set(listed(status="open"))
    with pytest.raises(ValueError, match="unknown event extras"):
        eventlist.events(store.db, EventQuery(extras=("nonsense",)))


def test_the_dashboards_other_reads(shared_store: ReceiverStore) -> None:
    """The newest seq, the filter menus, an incident's other events and a media path that
    is not there, all through the store."""
    store = shared_store
    site, ids, incident = _site(store)
    newest = eventlist.events(store.db, EventQuery(limit=1))[0]
    assert queries.newest_seq(store.db) == newest["seq"] >= 1
    menus = queries.choices(store.db)
    assert {"person", "door_open", "motion"} <= set(menus["kind"])
    assert "node_health" not in menus["kind"]
    siblings = queries.incident(store.db, site, incident, "n1", ids[0])
    assert [s["id"] for s in siblings] == [ids[1]]
    assert queries.incident(store.db, site, None, "n1", ids[0]) == []
    assert queries.media_path(store.db, "clip", site, "n1", "0" * 64) is None
    assert queries.media_path(store.db, "snapshot", site, "n1", "0" * 64) is None
