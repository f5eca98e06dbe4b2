"""``/audit/access`` (issue 26): the police access log as an auditor (or an admin) reads it,
from the accesses the dashboard itself recorded for officers (detail viewed, clip played by
Range requests, snapshot shown, evidence downloaded): newest first, times in WIB, filters by
user, node and since, pages of 50, viewings in progress shown before they are chained, and a
record removed or edited in the chain marked. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from casefile import INCIDENT, make_case, store_url
from dash import add_user, client_for, login, web_config
from starlette.applications import Starlette
from starlette.testclient import TestClient

from edge.receiver.access.record import VIEW_DETAIL, Item, Recorder
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import accesslog
from edge.receiver.web.audit_access import PAGE


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine."""
    s = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    yield s
    s.close()


def _rows(page: str) -> list[tuple[str, str]]:
    """(user, action) of each recorded access row, in page order."""
    found = re.findall(r'<tr class="access[^"]*" data-seq="\d+" data-action="(\w+)" '
                       r'data-user="([\w.-]+)"', page)  # fmt: skip
    return [(user, action) for action, user in found]


def test_officers_accesses_are_listed_for_the_auditor(store: ReceiverStore, tmp_path: Path) -> None:
    """Budi opens an alert, plays its clip in two Range requests, sees its snapshot,
    downloads the evidence and opens the incident's page; Sari opens the alert. The auditor
    first sees Budi's clip as a viewing in progress; once the receiver stops (the viewing
    ends) one ``play_clip`` record with the merged bytes 0-4096. Newest first, the role and
    WIB times shown, in Bahasa Indonesia; the incident's view named as such, by its site
    alone; filtered by user, node and since; the admin reads it too."""
    case = make_case(store, tmp_path)
    f = case.fleet
    clip = store.db.query("SELECT sha256 FROM clips")[0][0]
    snap = store.db.query("SELECT sha256 FROM snapshots")[0][0]
    for name, role in (("budi", "officer"), ("sari", "officer"), ("audra", "auditor"),
                       ("ani", "admin")):  # fmt: skip
        add_user(store, name, role)
    cfg = web_config(tmp_path / "rx")
    with client_for(cfg, store) as officer, client_for(cfg, store) as auditor:
        assert login(officer, "budi").status_code == 303
        assert officer.get(f.url(case.ids["person"])).status_code == 200
        for first, last in ((0, 1023), (1024, 4095)):
            r = officer.get(f.media("clip", clip), headers={"range": f"bytes={first}-{last}"})
            assert r.status_code == 206
        assert officer.get(f.media("snapshot", snap)).status_code == 200
        assert officer.get(f.url(case.ids["person"], "evidence")).status_code == 200
        assert officer.get(f"/incidents/{f.node.site}/{INCIDENT}").status_code == 200
        assert login(auditor, "audra").status_code == 303
        page = auditor.get("/audit/access").text
        assert 'id="viewings"' in page and 'class="viewing" data-user="budi"' in page
        app = officer.app
        assert isinstance(app, Starlette)
        accesslog.stopped(app)  # the receiver stops: the viewing ends
        assert login(officer, "sari").status_code == 303
        assert officer.get(f.url(case.ids["person"])).status_code == 200
        r = auditor.get("/audit/access")
        assert r.status_code == 200 and r.headers["content-language"] == "id"
        rows = _rows(r.text)
        assert rows[0] == ("sari", "view_detail"), rows
        budi = ("view_detail", "play_clip", "view_snapshot", "download_evidence", "view_detail")
        assert sorted(rows[1:]) == sorted(("budi", a) for a in budi), rows
        assert 'id="viewings"' not in r.text
        assert "Rekaman diputar" in r.text and "Bukti diunduh" in r.text and "WIB" in r.text
        assert "0 B\u20134.0 KB" in r.text  # the merged byte range (an en dash between)
        assert "Petugas" in r.text  # the officer's role, by its name
        assert _rows(auditor.get("/audit/access?user=sari").text) == [("sari", "view_detail")]
        site, node = f.node.site, f.node.node
        assert len(_rows(auditor.get(f"/audit/access?node={site}/{node}&since=1d").text)) == 5
        assert len(_rows(auditor.get(f"/audit/access?node={site}").text)) == 6  # the incident too
        assert "Halaman kejadian dilihat" in r.text
        other = auditor.get("/audit/access?node=elsewhere/x").text
        assert not _rows(other) and "Tidak ada akses yang cocok" in other
        assert len(_rows(auditor.get("/audit/access?since=2000-01-01").text)) == 6
        assert not _rows(auditor.get("/audit/access?since=2999-01-01").text)
        bad = auditor.get("/audit/access?since=yesterday")
        assert bad.status_code == 400 and "since" in bad.text
        assert login(auditor, "ani").status_code == 303
        assert len(_rows(auditor.get("/audit/access").text)) == 6


def test_the_log_pages_and_marks_a_damaged_record(store: ReceiverStore, tmp_path: Path) -> None:
    """120 recorded accesses: pages of 50 (newest first, "older"/"newer" links, the last page
    20 rows, a page number past the end answers an empty page, a non-number 400); a chain
    record edited afterwards is listed from the index, marked."""
    case = make_case(store, tmp_path)
    f = case.fleet
    add_user(store, "audra", "auditor")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        d = c.app.state.dashboard  # type: ignore[attr-defined]
        rec = Recorder(d.db, d.workflow.appender)
        item = Item("event", case.ids["person"], f.node.site, f.node.node, None)
        for i in range(120):
            rec.record(VIEW_DETAIL, item, user=f"u{i:03d}", role="viewer")
        assert login(c, "audra").status_code == 303
        first = c.get("/audit/access").text
        rows = _rows(first)
        assert len(rows) == PAGE and rows[0][0] == "u119" and rows[-1][0] == "u070"
        assert 'id="older"' in first and 'id="newer"' not in first
        third = c.get("/audit/access?page=3").text
        assert [u for u, _ in _rows(third)] == [f"u{i:03d}" for i in range(19, -1, -1)]
        assert 'id="older"' not in third and 'id="newer"' in third
        assert not _rows(c.get("/audit/access?page=9").text)
        assert c.get("/audit/access?page=x").status_code == 400
        seq = store.db.query("SELECT seq FROM access_log WHERE username = 'u119'")[0][0]
        with store.db.transaction() as cur:
            cur.execute("UPDATE ack_chain SET record = 'edited' WHERE seq = ?", (seq,))
        page = c.get("/audit/access?user=u119").text
        assert 'class="bad damaged"' in page and "edge receive audit verify" in page


def test_the_page_is_one_client_away(tmp_path: Path) -> None:
    """Without a session the access log redirects to the login (as every page does)."""
    s = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    try:
        with client_for(web_config(tmp_path / "rx"), s) as c:
            assert isinstance(c, TestClient)
            r = c.get("/audit/access", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    finally:
        s.close()
