"""Occurrences and incidents kept by the store at every commit of events, on SQLite and
PostgreSQL: START/UPDATE/END paired into one occurrence (in any order of arrival), INSTANT
ones, occurrences of several nodes of a site grouped into their incident, counts, severity
that only rises, a closed incident reopened by a new alarm, duplicates and replays counted
once, and a version 7 store given both tables by migration 8's backfill."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from consolestores import shared_store

from edge.bench.console import event
from edge.core.ids import new_id
from edge.receiver.messages import Accepted, Reason
from edge.receiver.store import console, database
from edge.receiver.store.schema import MIGRATIONS
from edge.receiver.store.store import ReceiverStore

T0 = time.time() - 3600


def open_store(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> ReceiverStore:
    """A store on *engine* under *tmp_path*."""
    url = (f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}" if engine == "sqlite"
           else str(request.getfixturevalue("pg_url")))  # fmt: skip
    return ReceiverStore(url, tmp_path / "rx")


@pytest.fixture
def store(shared_store: ReceiverStore) -> ReceiverStore:
    """The module's store on each engine (tests name fresh incidents)."""
    return shared_store


def occ(store: ReceiverStore, occurrence: str) -> dict[str, Any]:
    """The occurrences row of *occurrence*."""
    cols = ", ".join(console.OCCURRENCE_COLUMNS)
    rows = store.db.query(f"SELECT {cols} FROM occurrences WHERE occurrence = ?", (occurrence,))
    assert len(rows) == 1, rows
    return dict(zip(console.OCCURRENCE_COLUMNS, rows[0], strict=True))


def inc(store: ReceiverStore, site: str, incident: str) -> dict[str, Any]:
    """The incident as the console reads it."""
    found = console.incident(store.db, site, incident)
    assert found is not None
    return found


def test_start_update_end_make_one_occurrence(store: ReceiverStore) -> None:
    """START, UPDATE and END, each its own commit: one occurrence, closed by the END, with
    the first and last events, its highest severity and the latest snapshot; the events
    carry the occurrence; the incident counts one occurrence, none open."""
    o, i = new_id(), new_id()
    start = event("s1", "n1", "person", "warning", "start", when=T0, occurrence=o, incident=i)
    update = event("s1", "n1", "person", "alarm", "update", when=T0 + 2, occurrence=o,
                   incident=i, snapshot_id="snap-1")  # fmt: skip
    end = event("s1", "n1", "person", "info", "end", when=T0 + 9.5, occurrence=o, incident=i)
    store.commit([start])
    row = occ(store, o)
    assert (row["is_open"], row["ended"], row["severity"]) == (1, None, "warning")
    assert inc(store, "s1", i)["open_occurrences"] == 1
    store.commit([update])
    assert inc(store, "s1", i)["last_time"] == pytest.approx(T0 + 2, abs=0.002)
    store.commit([end])
    row = occ(store, o)
    assert row["is_open"] == 0 and row["severity"] == "alarm"
    assert (row["first_event"], row["last_event"]) == (start.id, end.id)
    assert row["started"] == pytest.approx(T0, abs=0.002)
    assert row["ended"] == pytest.approx(T0 + 9.5, abs=0.002)
    assert row["snapshot_id"] == "snap-1" and row["zones"] == '["lorong"]'
    ids = [start.id, update.id, end.id]
    rows = store.db.query(
        "SELECT seq, occurrence FROM events WHERE id IN (?, ?, ?) ORDER BY seq", ids
    )
    seqs = [r[0] for r in rows]
    assert (row["first_seq"], row["last_seq"]) == (seqs[0], seqs[-1])
    assert {r[1] for r in rows} == {o}
    got = inc(store, "s1", i)
    assert (got["occurrence_count"], got["open_occurrences"]) == (1, 0)
    assert (got["severity"], got["sev_rank"], got["status"]) == ("alarm", 2, "new")
    assert got["occurrences"][0]["duration_s"] == pytest.approx(9.5, abs=0.002)
    assert [e["id"] for e in got["events"]] == [start.id, update.id, end.id]
    assert got["last_seq"] == seqs[-1] and got["last_time"] == pytest.approx(T0 + 9.5, abs=0.002)


def test_end_before_start_and_instant(store: ReceiverStore) -> None:
    """An END that arrives before its START (a node's outbox drained late) closes the
    occurrence for good; its start is the START's time. An INSTANT is closed at once, with
    no incident sent: it is an incident of its own (the occurrence id)."""
    o = new_id()
    store.commit([event("s1", "n1", "door_open", "alarm", "end", when=T0 + 30, occurrence=o)])
    store.commit([event("s1", "n1", "door_open", "alarm", "start", when=T0, occurrence=o)])
    row = occ(store, o)
    assert row["is_open"] == 0 and row["started"] == pytest.approx(T0, abs=0.002)
    assert row["ended"] == pytest.approx(T0 + 30, abs=0.002)
    assert row["incident"] == o and inc(store, "s1", o)["open_occurrences"] == 0
    instant = event("s1", "n1", "clip_lost", "warning", "instant", when=T0 + 40)
    store.commit([instant])
    row = occ(store, instant.id)
    assert (row["is_open"], row["ended"]) == (0, row["started"])
    assert inc(store, "s1", instant.id)["occurrences"][0]["duration_s"] == 0


def test_incident_groups_the_nodes_of_a_site(store: ReceiverStore) -> None:
    """A door on one node and a person on another of the same site with one incident id: one
    incident (kinds, nodes, two occurrences, one still open, first and last seq); the same
    incident id on another site is another incident. In one commit or several: the same."""
    i, door, person = new_id(), new_id(), new_id()
    batch = [
        event("s1", "n2", "door_open", "warning", "start", when=T0, occurrence=door, incident=i),
        event("s1", "n1", "person", "alarm", "start", when=T0 + 3, occurrence=person, incident=i),
        event("s1", "n2", "door_open", "warning", "end", when=T0 + 5, occurrence=door, incident=i),
        event("s2", "n9", "smoke", "critical", "instant", when=T0 + 4, incident=i),
    ]  # fmt: skip
    store.commit(batch[:1])
    store.commit(batch[1:])
    got = inc(store, "s1", i)
    assert (got["kinds"], got["nodes"]) == ("door_open,person", "n1,n2")
    assert (got["occurrence_count"], got["open_occurrences"]) == (2, 1)
    assert (got["severity"], got["sev_rank"]) == ("alarm", 2)
    assert [o["occurrence"] for o in got["occurrences"]] == [door, person]
    assert got["started"] == pytest.approx(T0, abs=0.002)
    assert got["last_time"] == pytest.approx(T0 + 5, abs=0.002)
    other = inc(store, "s2", i)
    assert (other["nodes"], other["severity"], other["sev_rank"]) == ("n9", "critical", 3)
    assert got["first_seq"] < got["last_seq"] < other["first_seq"] == other["last_seq"]


def test_severity_only_rises(store: ReceiverStore) -> None:
    """An occurrence that reports critical then warning stays critical, and so does its
    incident when a lower occurrence joins it."""
    o, i = new_id(), new_id()
    store.commit([
        event("s1", "n1", "camera_tampered", "critical", "start", when=T0, occurrence=o,
              incident=i),
        event("s1", "n1", "camera_tampered", "warning", "update", when=T0 + 1, occurrence=o,
              incident=i),
    ])  # fmt: skip
    store.commit([event("s1", "n1", "motion", "info", "instant", when=T0 + 2, incident=i)])
    assert occ(store, o)["severity"] == "critical"
    got = inc(store, "s1", i)
    assert (got["severity"], got["sev_rank"], got["occurrence_count"]) == ("critical", 3, 2)


def _status(store: ReceiverStore, site: str, incident: str, status: str) -> None:
    """Set an incident's status as the workflow would (its own module is tested apart)."""
    with store.db.transaction() as cur:
        cur.execute(
            "UPDATE incidents SET status = ?, acked_by = 'ani', acked_at = 1, closed_by ="
            " 'budi', closed_at = 2, outcome = 'false_alarm' WHERE site = ? AND incident = ?",
            (status, site, incident),
        )


def test_a_new_alarm_reopens_a_closed_incident(store: ReceiverStore) -> None:
    """Closed, then an info occurrence and a later event of a known occurrence join: still
    closed. A new alarm occurrence joins: ``new`` again, workflow fields cleared, one
    ``reopen`` note by ``receiver``. Acknowledged, a new alarm joins: stays acknowledged,
    last_seq moves."""
    o, i = new_id(), new_id()
    store.commit([event("s1", "n1", "person", "alarm", "start", when=T0, occurrence=o,
                        incident=i)])  # fmt: skip
    _status(store, "s1", i, "closed")
    store.commit([
        event("s1", "n1", "motion", "info", "instant", when=T0 + 1, incident=i),
        event("s1", "n1", "person", "critical", "end", when=T0 + 2, occurrence=o, incident=i),
    ])  # fmt: skip
    assert inc(store, "s1", i)["status"] == "closed" and not inc(store, "s1", i)["notes"]
    store.commit([event("s1", "n2", "door_open", "alarm", "instant", when=T0 + 3, incident=i)])
    got = inc(store, "s1", i)
    assert got["status"] == "new"
    assert [got[k] for k in ("acked_by", "closed_by", "closed_at", "outcome")] == [None] * 4
    assert [(n["action"], n["username"], n["audit_hash"]) for n in got["notes"]] == [
        ("reopen", "receiver", "")
    ]
    _status(store, "s1", i, "acknowledged")
    before = got["last_seq"]
    store.commit([event("s1", "n2", "smoke", "critical", "start", when=T0 + 4, incident=i)])
    got = inc(store, "s1", i)
    assert got["status"] == "acknowledged" and got["last_seq"] > before
    assert len(got["notes"]) == 1 and got["severity"] == "critical"


def test_duplicates_and_replays_count_once(store: ReceiverStore) -> None:
    """The same events again (in the batch and in a later batch) change nothing; a replay
    (same id, other content) is quarantined and changes nothing either."""
    o, i = new_id(), new_id()
    start = event("s1", "n1", "person", "alarm", "start", when=T0, occurrence=o, incident=i)
    end = event("s1", "n1", "person", "alarm", "end", when=T0 + 5, occurrence=o, incident=i)
    store.commit([start, start, end])
    first = inc(store, "s1", i)
    out = store.commit([end, start])
    assert out.stored == 0 and out.duplicates == 2
    forged = Accepted(start.part, start.site, start.node, start.id, "0" * 64,
                      start.payload.replace(b'"start"', b'"end"'), start.topic,
                      {**start.data, "state": "end"})  # fmt: skip
    out = store.commit([forged])
    assert [q.reason for q in out.quarantined] == [Reason.REPLAY]
    again = inc(store, "s1", i)
    for key in ("occurrence_count", "open_occurrences", "last_seq", "first_seq", "kinds"):
        assert again[key] == first[key]
    assert [len(again["events"]), again["occurrences"][0]["is_open"]] == [2, 0]


def _v7_store(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> ReceiverStore:
    """A store migrated to version 7 only (before the console)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(database, "MIGRATIONS", MIGRATIONS[:7])
    try:
        return open_store(tmp_path, engine, request)
    finally:
        patch.undo()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_8_backfills_a_version_7_store(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    """Events stored by version 7 (no occurrence column) get migration 8's backfill once:
    the same occurrences and incidents as committing them now would give, events carry
    their occurrence, and an incident whose event was acknowledged starts acknowledged."""
    i, o = new_id(), new_id()
    batch = [
        event("s1", "n1", "door_open", "warning", "start", when=T0, occurrence=o, incident=i),
        event("s1", "n2", "person", "alarm", "instant", when=T0 + 2, incident=i),
        event("s1", "n1", "door_open", "alarm", "end", when=T0 + 4, occurrence=o, incident=i),
        event("s2", "n3", "motion", "info", "instant", when=T0 + 5),
        event("s2", "n3", "smoke", "critical", "start", when=T0 + 6),
    ]  # fmt: skip
    old = _v7_store(tmp_path / "old", engine, request)
    with old.db.transaction() as cur:
        for a in batch:
            cur.execute(
                "INSERT INTO events (site, node, id, kind, severity, state, incident, time,"
                " received, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.site, a.node, a.id, a.data["kind"], a.data["severity"], a.data["state"],
                 a.data["incident"], a.data["time"], T0 + 10, a.payload.decode()),
            )  # fmt: skip
        cur.execute(
            "INSERT INTO acks (site, node, event_id, username, note, time, audit_hash)"
            " VALUES ('s2', 'n3', ?, 'ani', '', ?, 'h')",
            (batch[4].id, T0 + 20),
        )
    url = old.db.url
    old.close()
    migrated = ReceiverStore(url, tmp_path / "old" / "rx")
    fresh = open_store(tmp_path / "new", engine, request) if engine == "sqlite" else None
    try:
        version = migrated.db.query("SELECT MAX(version) FROM schema_version")[0][0]
        assert version == len(MIGRATIONS)
        assert migrated.db.query("SELECT COUNT(*) FROM events WHERE occurrence IS NULL") == [(0,)]
        got = {(r["site"], r["incident"]): r for r in _all(migrated)}
        assert got[("s2", batch[4].id)]["status"] == "acknowledged"
        assert got[("s2", batch[4].id)]["acked_by"] == "ani"
        assert got[("s1", i)]["occurrence_count"] == 2 and got[("s1", i)]["nodes"] == "n1,n2"
        if fresh is not None:  # the same as ingest (one engine is enough for the comparison)
            fresh.commit(batch)
            want = {(r["site"], r["incident"]): r for r in _all(fresh)}
            assert set(got) == set(want)
            same = ("severity", "kinds", "nodes", "started", "last_time", "occurrence_count",
                    "open_occurrences")  # fmt: skip
            for key, row in want.items():
                assert {k: got[key][k] for k in same} == {k: row[k] for k in same}, key
    finally:
        migrated.close()
        if fresh is not None:
            fresh.close()


def _all(store: ReceiverStore) -> list[dict[str, Any]]:
    return console.incidents(store.db, console.ConsoleQuery(show_all=True, limit=1000))


__all__ = ["shared_store"]
