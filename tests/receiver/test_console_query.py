"""The console's read layer (edge.receiver.store.console) on SQLite and PostgreSQL: every
ConsoleQuery filter, keyset pages back and forth through a burst of 1,000 events without
losing or repeating an incident, "N new" counts, the unacknowledged counter, one incident
with its notes, events, snapshots and acknowledgements; and the console benchmark (small;
docs/scale.md: the 100,000-alert run)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from consolestores import shared_store
from rx import receiver_toml

from edge.bench.console import event
from edge.cli.main import main
from edge.core.ids import new_id
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.messages import Accepted
from edge.receiver.store import console
from edge.receiver.store.console import ConsoleQuery, QueryError
from edge.receiver.store.store import ReceiverStore

T0 = time.time() - 7200
DOC = Path(__file__).resolve().parents[2] / "docs" / "scale.md"


def _site() -> str:
    """A site name no other test uses."""
    return f"q{new_id()[-10:]}"


def _set_status(store: ReceiverStore, site: str, incident: str, status: str) -> None:
    with store.db.transaction() as cur:
        cur.execute("UPDATE incidents SET status = ? WHERE site = ? AND incident = ?",
                    (status, site, incident))  # fmt: skip


def _ids(found: list[dict[str, Any]]) -> set[str]:
    return {str(i["incident"]) for i in found}


def test_every_filter(shared_store: ReceiverStore) -> None:
    """Default: warning and up, motion-only hidden (the occurrences of a shown incident
    too); each filter alone and with others; an unknown status or severity is refused by
    name."""
    store, sa, sb = shared_store, _site(), _site()
    base = console.newest_seq(store.db)
    specs = {  # name: (site, node, kind, severity, status, when)
        "A": (sa, "n1", "person", "alarm", "new", T0),
        "B": (sa, "n2", "door_open", "warning", "acknowledged", T0 + 10),
        "C": (sb, "n1", "smoke", "critical", "closed", T0 + 20),
        "D": (sb, "n3", "motion", "info", "new", T0 + 30),
        "E": (sa, "n1", "motion", "warning", "new", T0 + 40),
        "F": (sb, "n2", "person", "alarm", "in_progress", T0 + 50),
        "G": (sa, "n1", "clip_lost", "info", "new", T0 + 60),
    }
    ids = {name: new_id() for name in specs}
    batch = [event(s, n, k, sev, "instant", when=t, incident=ids[name])
             for name, (s, n, k, sev, _, t) in specs.items()]  # fmt: skip
    batch.append(event(sb, "n2", "motion", "info", "instant", when=T0 + 51, incident=ids["F"]))
    store.commit(batch)
    for name, (site, *_, status, _) in specs.items():
        _set_status(store, site, ids[name], status)

    def names(**q: Any) -> set[str]:
        found = console.incidents(store.db, ConsoleQuery(after_seq=base, **q))
        return {n for n, i in ids.items() if i in _ids(found)}

    assert names() == {"A", "B", "C", "F"}
    assert names(show_all=True) == set(specs)
    assert names(site=sa) == {"A", "B"} and names(site=sb, show_all=True) == {"C", "D", "F"}
    assert names(node="n1") == {"A", "C"} and names(node="n2", site=sb) == {"F"}
    assert names(kind="person") == {"A", "F"} and names(kind="motion") == {"E", "F"}
    assert names(severity="critical") == {"C"} and names(severity="info") == {"G"}
    assert names(min_rank=2) == {"A", "C", "F"} and names(min_rank=3) == {"C"}
    assert names(status="new") == {"A"} and names(unacked=True, show_all=True) == {
        "A",
        "D",
        "E",
        "G",
    }
    assert names(status="open") == {"A", "B", "F"} and names(status="closed") == {"C"}
    assert names(status="in_progress") == {"F"} and names(status="acknowledged") == {"B"}
    assert names(since=T0 + 15) == {"C", "F"} and names(since=T0 + 15, site=sa) == set()
    assert names(site=sa, unacked=True, min_rank=2) == {"A"}
    assert names(limit=2) == {"A", "B"}  # after_seq: the two just after it
    newest = console.incidents(store.db, ConsoleQuery(site=sb, limit=1))
    assert _ids(newest) == {ids["F"]}
    shown = console.incidents(store.db, ConsoleQuery(after_seq=base, kind="person", site=sb))
    assert [o["kind"] for o in shown[0]["occurrences"]] == ["person"]
    everything = console.incidents(store.db, ConsoleQuery(after_seq=base, show_all=True, site=sb))
    f = next(i for i in everything if i["incident"] == ids["F"])
    assert [o["kind"] for o in f["occurrences"]] == ["person", "motion"]
    assert f["kinds"] == "motion,person" and f["occurrence_count"] == 2
    with pytest.raises(QueryError, match="'opened'"):
        console.incidents(store.db, ConsoleQuery(status="opened"))
    with pytest.raises(QueryError, match="'loud'"):
        console.count_after(store.db, ConsoleQuery(severity="loud"), 0)


def _burst(site: str, n: int, rng: random.Random) -> list[Accepted]:
    """*n* events of a site's 4 nodes: incidents of one or two occurrences, START/END or
    INSTANT, info and motion mixed in, shuffled a little (ENDs may come first)."""
    out: list[Accepted] = []
    kinds = [("person", "alarm"), ("door_open", "warning"), ("motion", "info"),
             ("smoke", "critical"), ("clip_lost", "info")]  # fmt: skip
    while len(out) < n:
        incident = new_id()
        for _ in range(rng.choice((1, 1, 2))):
            kind, severity = rng.choice(kinds)
            node, occ = f"n{rng.randrange(4)}", new_id()
            states = ["start", "end"] if rng.random() < 0.6 else ["instant"]
            for state in states[: n - len(out)]:
                out.append(event(site, node, kind, severity, state, when=T0 + len(out),
                                 occurrence=occ, incident=incident))  # fmt: skip
    for i in range(0, len(out) - 1, 7):
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _page_back(store: ReceiverStore, q: ConsoleQuery, floor: int) -> list[dict[str, Any]]:
    """Every incident of *q* above *floor*, 50 at a time, newest first."""
    seen: list[dict[str, Any]] = []
    before = None
    while True:
        page = console.incidents(store.db, ConsoleQuery(**{**_fields(q), "before_seq": before}))
        page = [i for i in page if i["last_seq"] > floor]
        if not page:
            return seen
        seen += page
        before = page[-1]["last_seq"]


def _fields(q: ConsoleQuery) -> dict[str, Any]:
    return {f: getattr(q, f) for f in q.__slots__}


def test_keyset_pages_reach_every_incident_of_a_burst(shared_store: ReceiverStore) -> None:
    """1,000 events in one commit: paging older (before_seq) and newer (after_seq), 50 at a
    time, each incident exactly once, the same ones a single query finds; count_after says
    how many; an incident that gets a new event while the officer pages forward comes
    again after the ones already seen."""
    store, site = shared_store, _site()
    base = console.newest_seq(store.db)
    burst = _burst(site, 1000, random.Random(21))
    assert store.commit(burst).stored == 1000
    for q in (ConsoleQuery(site=site), ConsoleQuery(show_all=True)):
        every = ConsoleQuery(**{**_fields(q), "limit": 1000, "after_seq": base})
        expected = {(i["site"], i["incident"]) for i in console.incidents(store.db, every)}
        assert 100 < len(expected) < 1000 and console.count_after(store.db, q, base) == len(
            expected
        )
        back = _page_back(store, q, base)
        assert len(back) == len(expected) == len({(i["site"], i["incident"]) for i in back})
        assert {(i["site"], i["incident"]) for i in back} == expected
        assert [i["last_seq"] for i in back] == sorted((i["last_seq"] for i in back), reverse=True)
        forward, after = [], base
        while page := console.incidents(
            store.db, ConsoleQuery(**{**_fields(q), "after_seq": after})
        ):
            assert [i["last_seq"] for i in page] == sorted(
                (i["last_seq"] for i in page), reverse=True
            )
            forward += page
            after = page[0]["last_seq"]
        assert sorted(i["last_seq"] for i in forward) == sorted(i["last_seq"] for i in back)
    first = console.incidents(store.db, ConsoleQuery(site=site, after_seq=base, limit=50))
    old = first[-1]
    store.commit([event(site, "n0", "person", "alarm", "instant", when=T0 + 2000,
                        incident=old["incident"])])  # fmt: skip
    assert console.count_after(store.db, ConsoleQuery(site=site), first[0]["last_seq"]) > 0
    later, after = [], first[0]["last_seq"]
    while page := console.incidents(store.db, ConsoleQuery(site=site, after_seq=after)):
        later += page
        after = page[0]["last_seq"]
    assert old["incident"] in _ids(later)


def test_counts_and_one_incident(shared_store: ReceiverStore) -> None:
    """unacked counts new incidents by severity (info and motion left out); newest_seq is
    the newest incident's last_seq; incident() has its occurrences (snapshot sha256, who
    acknowledged), its notes and its events; an unknown one is None."""
    store, site = shared_store, _site()
    before = console.unacked(store.db)
    i = new_id()
    events = [
        event(site, "n1", "person", "alarm", "start", when=T0, incident=i, snapshot_id="sn1"),
        event(site, "n1", "smoke", "critical", "instant", when=T0 + 1),
        event(site, "n1", "door_open", "warning", "instant", when=T0 + 2),
        event(site, "n1", "motion", "warning", "instant", when=T0 + 3),
        event(site, "n1", "clip_lost", "info", "instant", when=T0 + 4),
    ]
    store.commit(events)
    after = console.unacked(store.db)
    assert {k: after[k] - before[k] for k in after} == {"warning": 1, "alarm": 1, "critical": 1}
    newest = store.db.query("SELECT MAX(seq) FROM events")[0][0]
    assert console.newest_seq(store.db) == newest
    with store.db.transaction() as cur:
        cur.execute("INSERT INTO snapshots (site, node, id, sha256, path, received)"
                    " VALUES (?, 'n1', 'sn1', ?, '/x.jpg', 1)", (site, "ab" * 32))  # fmt: skip
        cur.execute("INSERT INTO acks (site, node, event_id, username, note, time, audit_hash)"
                    " VALUES (?, 'n1', ?, 'ani', '', 5, 'h')", (site, events[0].id))  # fmt: skip
        cur.execute("INSERT INTO incident_notes (site, incident, username, time, action, text,"
                    " audit_hash) VALUES (?, ?, 'ani', 5, 'comment', 'patroli', 'h2')",
                    (site, i))  # fmt: skip
    got = console.incident(store.db, site, i)
    assert got is not None and got["status"] == "new"
    (o,) = got["occurrences"]
    assert (o["snapshot_sha"], o["acked_by"], o["duration_s"]) == ("ab" * 32, "ani", None)
    assert [(n["action"], n["text"], n["audit_hash"]) for n in got["notes"]] == [
        ("comment", "patroli", "h2")
    ]
    assert [e["id"] for e in got["events"]] == [events[0].id]
    listed = console.incidents(store.db, ConsoleQuery(site=site, kind="person"))
    assert listed[0]["occurrences"][0]["acked_by"] == "ani"
    assert console.incident(store.db, site, "no-such-incident") is None


@pytest.mark.bench
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_console_bench_prints_figures(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    engine: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``edge receive bench console`` fills a store and prints the console's query times:
    on SQLite the command of docs/scale.md exactly as written (100,000 alerts, ~15 s of CPU),
    on PostgreSQL with 2,000 alerts (its 100,000 run is a developer's step); a PostgreSQL
    store that already holds events is refused by name."""
    store = "sqlite" if engine == "sqlite" else str(request.getfixturevalue("pg_url"))
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca, store=store))
    documented = "edge receive -c receiver.toml bench console --alerts 100000"
    assert f"`{documented}`" in DOC.read_text()
    alerts = 100000 if engine == "sqlite" else 2000
    args = documented.replace("receiver.toml", str(conf)).replace("100000", str(alerts)).split()
    args = [*args[1:], "--json"]
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    with capsys.disabled():
        print(f"\nreceive bench console {engine}: {figures}")
    assert figures["alerts"] == alerts and alerts / 4 < figures["incidents"] < alerts
    assert all(figures[f"{q}_ms"] > 0 for q in ("first_page", "site", "severity", "unacked"))
    if engine == "postgresql":
        assert main(args) == 1
        assert f"holds {alerts} events" in capsys.readouterr().err


__all__ = ["shared_store"]
