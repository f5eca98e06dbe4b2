"""The police access log, recorded as an officer uses the dashboard: an alert's detail, its
snapshot, its clip played in Range requests (one viewing, one record with its merged byte
ranges), its evidence downloaded; each in the receiver's signed chain, which still
verifies. Fail-closed: a chain that cannot be written (it does not end at its signed head,
or the disk is full) serves nothing (503, saying why); a receiver stopped mid-viewing
chains the viewing at its next start; hostile Range headers neither break the record nor
slip bytes past it. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casefile import CLIP, INCIDENT, Case, logged_in, make_case, store_url
from starlette.testclient import TestClient

from edge.receiver.access.record import GAP_S, MAX_INTERVALS, Recorder, merge, pending
from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import accesslog
from edge.receiver.web.app import create_app
from edge.receiver.web.incident_page import incident_url

CLIP_SHA = hashlib.sha256(CLIP).hexdigest()
FILLER = (
    "INSERT INTO access_viewings (username, role, type, site, node, sha256, started, last,"
    " requests, ranges) VALUES ('filler', 'none', 'clip', 's', 'n', hex(randomblob(?)), 0,"
    " 1e12, 0, '[]')"
)
"""A row that is never chained nor merged into a viewing (its last request is far ahead)."""


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Viewer:
    """An officer logged in on a store holding one incident, with a test clock."""

    store: ReceiverStore
    case: Case
    client: TestClient
    clock: Clock
    snapshot_sha: str

    @property
    def person(self) -> str:
        """The person alert (with the clip and the snapshot)."""
        return self.case.ids["person"]

    def clip(self, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
        """Request the clip."""
        url = self.case.fleet.media("clip", CLIP_SHA)
        return self.client.request(method, url, headers=headers or {})

    def records(self, action: str | None = None) -> list[dict[str, Any]]:
        """The chain's access records (of *action*)."""
        rows = self.store.db.query("SELECT record FROM ack_chain ORDER BY seq")
        recs = [json.loads(r[0]) for r in rows]
        return [r for r in recs if r.get("kind") == "access" and action in (None, r["action"])]


@pytest.fixture(params=["sqlite", "postgresql"])
def viewer(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Viewer]:
    """budi (officer) on a fresh store, the app's recorder on a test clock."""
    store = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    try:
        case = make_case(store, tmp_path)
        snap = store.db.query("SELECT sha256 FROM snapshots")[0][0]
        with logged_in(store, tmp_path / "rx", "budi", "officer") as c:
            clock = Clock()
            d = c.app.state.dashboard  # type: ignore[attr-defined]
            c.app.state.access_recorder = Recorder(d.db, d.workflow.appender, clock=clock)  # type: ignore[attr-defined]
            yield Viewer(store, case, c, clock, str(snap))
    finally:
        store.close()


def test_each_access_is_one_chain_record_and_the_chain_verifies(viewer: Viewer) -> None:
    """Detail page: a record at once; three Range requests of the clip within the gap: one
    pending viewing, chained after the gap as ONE play_clip record with merged ranges; the
    snapshot shown twice: one view_snapshot; the evidence zip: download_evidence; the
    incident's page: a view_detail of the incident naming its node and events. All name
    budi, officer, the site (and node), the item's id and sha256; verify stays ok."""
    v = viewer
    assert v.client.get(v.case.fleet.url(v.person)).status_code == 200
    (detail,) = v.records("view_detail")
    assert (detail["user"], detail["role"], detail["type"], detail["id"]) == (
        "budi", "officer", "event", v.person)  # fmt: skip
    assert len(detail["sha256"]) == 64 and detail["site"] == v.case.fleet.node.site
    for r, (a, b) in zip(("0-99", "100-999", "5000-5999"), ((0, 100), (100, 1000), (5000, 6000)),
                         strict=True):  # fmt: skip
        got = v.clip({"range": f"bytes={r}"})
        assert got.status_code == 206 and got.content == CLIP[a:b]
        v.clock.now += 60
    for _ in range(2):
        snap = v.client.get(v.case.fleet.media("snapshot", v.snapshot_sha))
        assert snap.status_code == 200
    assert not v.records("play_clip") and len(pending(v.store.db)) == 2
    v.clock.now += GAP_S + 1
    assert v.client.get(v.case.fleet.url(v.person, "evidence")).status_code == 200
    (play,) = v.records("play_clip")
    assert play["ranges"] == [[0, 1000], [5000, 6000]] and play["ranges_unit"] == "bytes"
    assert (play["requests"], play["type"], play["sha256"], play["size"]) == (
        3, "clip", CLIP_SHA, len(CLIP))  # fmt: skip
    assert play["ended_by"] == "gap" and play["ended"] - play["started"] == 120
    (shown,) = v.records("view_snapshot")
    assert shown["requests"] == 2 and shown["sha256"] == v.snapshot_sha
    (download,) = v.records("download_evidence")
    assert download["id"] == v.person and download["clip_id"] == play["id"]
    assert not pending(v.store.db)
    assert v.client.get(incident_url(v.case.fleet.node.site, INCIDENT)).status_code == 200
    page = v.records("view_detail")[-1]
    assert (page["type"], page["id"], page["node"]) == ("incident", INCIDENT, None)
    assert page["nodes"] == [v.case.fleet.node.node] and f"gudang-07/{v.person}" in page["events"]
    assert verify_chain(v.store.db).ok


def test_a_head_request_and_refused_ranges_record_nothing(viewer: Viewer) -> None:
    """HEAD sends no bytes; a malformed (400) or unsatisfiable (416) Range sends none: none
    is a viewing. A suffix range, an If-Range and 100 tiny ranges are recorded as what was
    sent (at most MAX_INTERVALS spans, covering every byte); over 100 ranges, which
    Starlette answers with the whole file, are recorded as the whole file; an If-Range
    matching the clip's ETag as the range alone."""
    v = viewer
    assert v.clip(method="HEAD").status_code == 200
    assert v.clip({"range": "bytes=abc"}).status_code == 400
    assert v.clip({"range": "lines=0-5"}).status_code == 400
    assert v.clip({"range": f"bytes={len(CLIP) + 5}-"}).status_code == 416
    assert not pending(v.store.db)
    assert v.clip({"range": "bytes=-500"}).status_code == 206
    (view,) = pending(v.store.db)
    assert view["ranges"] == [[len(CLIP) - 500, len(CLIP)]]
    many = ",".join(f"{i * 1000}-{i * 1000}" for i in range(100))
    assert v.clip({"range": f"bytes={many}"}).status_code == 206
    (view,) = pending(v.store.db)
    assert len(view["ranges"]) == MAX_INTERVALS
    assert all(any(a <= i * 1000 < b for a, b in view["ranges"]) for i in range(100))
    assert v.clip({"range": "bytes=0-9", "if-range": '"stale"'}).status_code == 200
    (view,) = pending(v.store.db)
    assert view["ranges"] == [[0, len(CLIP)]]
    v.clock.now += GAP_S + 1  # a new viewing
    assert v.clip({"range": "bytes=" + ",".join(["0-1"] * 101)}).status_code == 200
    view = pending(v.store.db)[0]
    assert view["ranges"] == [[0, len(CLIP)]]  # Starlette sends it all: recorded so
    v.clock.now += GAP_S + 1
    etag = v.clip(method="HEAD").headers["etag"]
    got = v.clip({"range": "bytes=0-9", "if-range": etag})
    assert got.status_code == 206 and got.content == CLIP[:10]
    view = pending(v.store.db)[0]
    assert view["ranges"] == [[0, 10]]  # a matching If-Range: only the range was sent


def test_merge_keeps_every_byte_within_its_limit() -> None:
    """Overlapping and touching spans join; past the limit the closest ones join; empty,
    negative and reversed spans are dropped."""
    assert merge([(5, 9), (0, 5), (20, 30), (25, 26), (7, 7), (-3, 2), (9, 4)]) == [
        [0, 9], [20, 30]]  # fmt: skip
    assert merge([(0, 1), (10, 11), (13, 14)], limit=2) == [[0, 1], [10, 14]]


def test_a_chain_that_cannot_be_written_serves_nothing(viewer: Viewer) -> None:
    """The head row deleted (the chain no longer ends at its signed head: ChainError): the
    detail page, the clip, the snapshot and the evidence zip each answer 503 saying the
    access could not be recorded, in Bahasa Indonesia and English, and no zip is left."""
    v = viewer
    with v.store.db.transaction() as cur:
        cur.execute("DELETE FROM ack_chain_head")
    v.client.get(v.case.fleet.url(v.person))  # not recorded: the chain has records already
    with v.store.db.transaction() as cur:  # make sure the chain has records past a head
        cur.execute("DELETE FROM ack_chain_head")
    for got in (
        v.client.get(v.case.fleet.url(v.person)),
        v.clip({"range": "bytes=0-99"}),
        v.client.get(v.case.fleet.media("snapshot", v.snapshot_sha)),
        v.client.get(v.case.fleet.url(v.person, "evidence")),
    ):
        assert got.status_code == 503, got.text
        assert "tidak dapat dicatat" in got.text and "could not be recorded" in got.text
        assert CLIP[:100] not in got.content
    assert not list((v.store.files.root).glob(".evidence-*.zip"))
    assert not pending(v.store.db)


def test_a_full_disk_serves_nothing_until_there_is_room(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SQLite at its size limit ("database or disk is full"): the clip answers 503 and
    nothing is kept; with room again it plays and its viewing is kept."""
    request.param = "sqlite"
    store = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    try:
        case = make_case(store, tmp_path)
        with logged_in(store, tmp_path / "rx", "budi", "officer") as c:
            url = case.fleet.media("clip", CLIP_SHA)
            assert c.get(case.fleet.url(case.ids["person"])).status_code == 200  # chain started
            pages = store.db.query("PRAGMA page_count")[0][0]
            store.db.query(f"PRAGMA max_page_count = {int(pages) + 2}")
            for size in (200, 20, 1):  # every page the viewing could use filled
                with pytest.raises(sqlite3.OperationalError, match="full"):
                    for _ in range(10_000):
                        with store.db.transaction() as cur:
                            cur.execute(FILLER, (size,))
            got = c.get(url, headers={"range": "bytes=0-99"})
            assert got.status_code == 503 and "could not be recorded" in got.text
            assert not [p for p in pending(store.db) if p["username"] == "budi"]
            with store.db.transaction() as cur:
                cur.execute("DELETE FROM access_viewings WHERE username = 'filler'")
            store.db.query("PRAGMA max_page_count = 1073741823")
            assert c.get(url, headers={"range": "bytes=0-99"}).status_code == 206
            assert len(pending(store.db)) == 1
    finally:
        store.close()


def test_a_viewing_left_by_a_stopped_receiver_is_chained_at_the_next_start(
    viewer: Viewer,
) -> None:
    """The receiver stops (crashes) mid-viewing: the viewing stays pending in the store;
    the next dashboard's start chains it (ended_by ``start``); a clean stop chains its own
    at once (ended_by ``stop``)."""
    v = viewer
    assert v.clip({"range": "bytes=0-4095"}).status_code == 206
    assert len(pending(v.store.db)) == 1 and not v.records("play_clip")
    app = create_app(v.client.app.state.dashboard.cfg, v.store)  # type: ignore[attr-defined]
    accesslog.started(app)
    (play,) = v.records("play_clip")
    assert play["ended_by"] == "start" and play["ranges"] == [[0, 4096]]
    assert v.clip({"range": "bytes=0-9"}).status_code == 206
    accesslog.stopped(v.client.app)  # type: ignore[arg-type]
    assert [r["ended_by"] for r in v.records("play_clip")] == ["start", "stop"]
    assert not pending(v.store.db) and verify_chain(v.store.db).ok


def test_audit_verify_checks_each_access_against_its_index_row(viewer: Viewer) -> None:
    """``verify_chain`` counts the access records and the viewings still open; an index
    row deleted (the access would not be listed), edited (another user) or inserted (an
    access that never was) is one problem each, naming it."""
    v = viewer
    assert v.client.get(v.case.fleet.url(v.person)).status_code == 200
    assert v.client.get(v.case.fleet.url(v.case.ids["door"])).status_code == 200
    assert v.clip({"range": "bytes=0-9"}).status_code == 206
    check = verify_chain(v.store.db)
    assert check.ok and (check.accesses, check.viewings) == (2, 1), check.problems
    first, second = (r["seq"] for r in v.records("view_detail"))
    with v.store.db.transaction() as cur:
        cur.execute("DELETE FROM access_log WHERE seq = ?", (first,))
        cur.execute("UPDATE access_log SET username = 'siti' WHERE seq = ?", (second,))
        cur.execute("INSERT INTO access_log VALUES (9999, 1, 'budi', 'play_clip', 'clip', 'x',"
                    " 's', 'n')")  # fmt: skip
    problems = verify_chain(v.store.db).problems
    assert any(f"chain record seq {first} (view_detail of event" in p and "no access log row" in p
               for p in problems), problems  # fmt: skip
    assert any(f"access log row seq {second}" in p and "user differ" in p for p in problems)
    assert any("access log row seq 9999" in p and "no access record" in p for p in problems)


def test_a_viewing_that_goes_on_is_chained_after_an_hour(tmp_path: Path) -> None:
    """A snapshot shown every 200 s for over an hour (a console left open): the viewing is
    chained once it is LONGEST_S old (``ended_by`` ``length``) and the next showing starts
    another."""
    from edge.receiver.access.record import LONGEST_S, Item
    from edge.receiver.ackaudit.appender import Appender

    store = ReceiverStore(f"sqlite:///{tmp_path / 'receiver.db'}", tmp_path)
    try:
        clock = Clock()
        rec = Recorder(store.db, Appender(store.db, tmp_path, "polda-test"), clock=clock)
        snap = Item("snapshot", "s1", "semarang", "gudang-07", "c" * 64)
        start = clock.now
        while clock.now <= start + LONGEST_S + 200:
            rec.view(snap, user="budi", role="viewer", ranges=[(0, 10)], size=10)
            clock.now += 200
        rows = [json.loads(r[0]) for r in store.db.query(
            "SELECT record FROM ack_chain WHERE action = 'view_snapshot'")]  # fmt: skip
        assert [(r["ended_by"], r["requests"]) for r in rows] == [("length", 19)]
        assert rows[0]["ended"] - rows[0]["started"] == 3600
        (left,) = pending(store.db)
        assert left["started"] == start + 3800
    finally:
        store.close()


def test_a_running_dashboard_chains_a_viewing_once_its_gap_elapsed(viewer: Viewer) -> None:
    """Nobody opens anything after a clip was played: the dashboard's sweep chains the
    viewing once its gap has elapsed (ended_by ``gap``), and stops with the dashboard."""
    import threading

    v = viewer
    assert v.clip({"range": "bytes=0-99"}).status_code == 206
    stopping = threading.Event()
    app = v.client.app
    thread = threading.Thread(target=accesslog.sweep, args=(app, stopping, 0.02), daemon=True)
    thread.start()
    try:
        assert len(pending(v.store.db)) == 1 and not v.records("play_clip")
        v.clock.now += GAP_S + 1
        deadline = time.monotonic() + 10
        while not v.records("play_clip") and time.monotonic() < deadline:
            time.sleep(0.02)
        (play,) = v.records("play_clip")
        assert play["ended_by"] == "gap" and not pending(v.store.db)
    finally:
        stopping.set()
        thread.join(5)
    assert not thread.is_alive()


def test_the_sweep_survives_a_round_that_fails(
    viewer: Viewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in one round of the sweep is logged and the next round chains the
    viewing all the same (the thread does not die silently)."""
    import threading

    v = viewer
    assert v.clip({"range": "bytes=0-99"}).status_code == 206
    real, failures = accesslog.recorder_of, list[int]()

    def failing_once(app: object) -> object:
        if not failures:
            failures.append(1)
            raise RuntimeError("a bug in one round")
        return real(app)  # type: ignore[arg-type]

    monkeypatch.setattr(accesslog, "recorder_of", failing_once)
    v.clock.now += GAP_S + 1
    stopping = threading.Event()
    thread = threading.Thread(
        target=accesslog.sweep, args=(v.client.app, stopping, 0.02), daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not v.records("play_clip") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert failures and thread.is_alive()
        (play,) = v.records("play_clip")
        assert play["ended_by"] == "gap"
    finally:
        stopping.set()
        thread.join(5)
