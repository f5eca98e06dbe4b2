"""The dashboard's pages through a test client: the alert list with its filters and
thumbnails, one alert with its incident and verification, acknowledging it (stored, shown,
in the audit chain), the clip by HTTP range, and the evidence bundle checked with openssl
and Python."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundlecheck import check_bundle
from dash import (
    Fleet,
    add_user,
    client_for,
    csrf_of,
    jpeg,
    login,
    sqlite_store,  # noqa: F401 (the store fixture)
    web_config,
)
from starlette.testclient import TestClient

from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.store.store import ReceiverStore

CLIP = bytes(range(256)) * 1200
"""Stands in for an MP4 (the store checks size and sha256, not the format)."""


@pytest.fixture
def fleet(store: ReceiverStore, tmp_path: Path) -> Fleet:
    """A node with an incident (door, then a person with snapshot and clip) and a motion."""
    f = Fleet(store)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(CLIP)
    f.ids["door"] = f.event("door_open", camera=None, sensor="pintu-1", incident="inc-1")
    f.ids['person'] = f.event(
        "person", incident="inc-1", zones=["lorong", "rak-3"], clip_id=f.clip(clip),
        snapshot_id=f.snapshot(jpeg()),
    )  # fmt: skip
    f.ids["motion"] = f.event("motion", severity="info", camera="gudang-2")
    return f


@pytest.fixture
def officer(tmp_path: Path, store: ReceiverStore) -> Iterator[TestClient]:
    """A client logged in as an officer."""
    add_user(store, "budi", "officer")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "budi").status_code == 303
        yield c


def test_the_list_shows_each_alert_newest_first_and_filters(
    officer: TestClient, fleet: Fleet
) -> None:
    """The console: the door and the person as one incident (its occurrences in order) with
    warehouse, camera or sensor, zone and thumbnail; the motion (info) only when asked for;
    each filter narrows the list; the per-event JSON API agrees."""
    page = officer.get("/alerts").text
    order = [page.index(f'data-event="{i}"') for i in (fleet.ids["door"], fleet.ids["person"])]
    assert order == sorted(order) and page.count('<tbody class="incident') == 1
    assert fleet.ids["motion"] not in page
    assert fleet.ids["motion"] in officer.get("/alerts?all=1").text
    assert "semarang" in page and "pintu-1" in page and "lorong, rak-3" in page
    sha = hashlib.sha256(jpeg()).hexdigest()
    assert f'src="{fleet.media("snapshot", sha)}"' in page
    assert officer.get(fleet.media("snapshot", sha)).content == jpeg()
    ids = fleet.ids
    for query, expected in (
        ("kind=door_open", [ids["door"]]),
        ("severity=info", [ids["motion"]]),
        ("site=solo", []),
        ("node=gudang-07&kind=person", [ids["person"]]),
        ("state=end", []),
    ):
        rows = officer.get(f"/api/alerts?{query}").json()
        assert [r["id"] for r in rows] == expected, query
        if not query.startswith("state"):  # the console filters incidents by status instead
            shown = officer.get(f"/alerts?{query}&all=1").text  # motion too
            assert all(i in shown for i in expected), query


def test_the_detail_shows_clip_incident_and_verification(
    officer: TestClient, fleet: Fleet, store: ReceiverStore
) -> None:
    """The person alert: snapshot, the clip in a video element, the door event of the same
    incident, and the signature checked (key id, sha256, mask hash)."""
    page = officer.get(fleet.url(fleet.ids["person"])).text
    sha = hashlib.sha256(CLIP).hexdigest()
    assert '<video id="clip"' in page and fleet.media("clip", sha) in page
    assert fleet.url(fleet.ids["door"]) in page and "door_open" in page
    assert "OK: the Ed25519 signature holds" in page and fleet.node.key.id in page and sha in page
    assert officer.get(fleet.url("no-such-id")).status_code == 404
    assert officer.get(f"/alerts/semarang/gudang-08/{fleet.ids['person']}").status_code == 404
    # the stored clip altered afterwards: the page says so
    path = Path(store.db.query("SELECT path FROM clips")[0][0])
    path.chmod(0o644)
    path.write_bytes(CLIP[:-1] + b"x")
    assert "does not match" in officer.get(fleet.url(fleet.ids["person"])).text


def test_clips_answer_range_requests(officer: TestClient, fleet: Fleet) -> None:
    """A video element's range requests: 206 with Content-Range, the exact bytes; a range
    past the end is 416; no range: the whole clip."""
    url = fleet.media("clip", hashlib.sha256(CLIP).hexdigest())
    whole = officer.get(url)
    assert whole.status_code == 200 and whole.content == CLIP
    assert whole.headers["accept-ranges"] == "bytes"
    part = officer.get(url, headers={"range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == CLIP[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(CLIP)}"
    tail = officer.get(url, headers={"range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == CLIP[-100:]
    assert officer.get(url, headers={"range": f"bytes={len(CLIP)}-"}).status_code == 416


def test_acknowledging_stores_who_and_when_in_the_audit_chain(
    officer: TestClient, fleet: Fleet, store: ReceiverStore, tmp_path: Path
) -> None:
    """The officer's note is stored with name and time, shown on the page and in the list,
    and appended to the acknowledgement chain in the store, which verifies with the row;
    a second acknowledgement changes nothing."""
    url = fleet.url(fleet.ids["person"], "ack")
    token = csrf_of(officer.get(fleet.url(fleet.ids["person"])).text)
    r = officer.post(url, data={"csrf": token, "note": "checked on camera"})
    assert r.status_code == 200 and re.search(r'id="acked">[^<]*<strong>budi</strong>', r.text)
    assert "checked on camera" in r.text
    officer.post(url, data={"csrf": token, "note": "again"})
    rows = store.db.query("SELECT username, note, time, audit_hash FROM acks")
    assert len(rows) == 1 and rows[0][:2] == ("budi", "checked on camera")
    check = verify_chain(store.db, tmp_path / "rx")
    # key, the event's acknowledgement, its incident's (the per-event /ack acknowledges both),
    # and each view of the alert's page (the police access log, issue 26)
    views = store.db.query("SELECT COUNT(*) FROM access_log WHERE action = 'view_detail'")[0][0]
    assert views >= 1 and check.records == 3 + views, check.problems
    assert check.ok and check.acks == 1 and check.notes == 1, check.problems
    chained = store.db.query("SELECT record FROM ack_chain WHERE hash = ?", (rows[0][3],))
    record = json.loads(chained[0][0])
    assert record["user"] == "budi" and record["id"] == fleet.ids["person"]
    assert record["action"] == "acknowledge" and record["time"] == rows[0][2]
    listed = officer.get("/api/alerts?kind=person").json()
    assert listed[0]["acked_by"] == "budi"


def test_the_evidence_bundle_verifies_with_openssl_and_python(
    officer: TestClient, fleet: Fleet, tmp_path: Path
) -> None:
    """The zip holds clip, manifest, signed bytes, signature, the signing key with its
    enrolment record, and README; the README's openssl commands (key id, signature) and
    Python steps verify it."""
    r = officer.get(fleet.url(fleet.ids["person"], "evidence"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    out = tmp_path / "bundle"
    enrolment = check_bundle(r.content, out)
    assert (out / "clip.mp4").read_bytes() == CLIP
    assert enrolment["key_id"] == fleet.node.key.id and enrolment["valid_until"] is None
    assert enrolment["site"] == "semarang" and enrolment["node"] == "gudang-07"
    assert officer.get(fleet.url(fleet.ids["motion"], "evidence")).status_code == 404
    assert not list((tmp_path / "rx").glob(".evidence-*"))


def test_the_dashboard_works_on_a_postgresql_store(tmp_path: Path, pg_url: str) -> None:
    """The same pages on PostgreSQL: login with lockout counting, list with thumbnail and
    filters, detail with verification, acknowledgement, media."""
    store = ReceiverStore(pg_url, tmp_path / "rx")
    try:
        f = Fleet(store)
        clip = tmp_path / "clip.mp4"
        clip.write_bytes(CLIP)
        person = f.event(
            "person", incident="i", clip_id=f.clip(clip), snapshot_id=f.snapshot(jpeg())
        )
        door = f.event("door_open", incident="i")
        add_user(store, "budi", "officer")
        with client_for(web_config(tmp_path / "rx"), store) as c:
            assert login(c, "budi", "wrong password!").status_code == 401
            assert login(c, "budi").status_code == 303
            assert [r["id"] for r in c.get("/api/alerts?kind=person").json()] == [person]
            page = c.get(f.url(person)).text
            assert "OK: the Ed25519 signature holds" in page and door in page
            r = c.post(f.url(person, "ack"), data={"csrf": csrf_of(page), "note": "ok"})
            assert re.search(r'id="acked">[^<]*<strong>budi</strong>', r.text)
            assert c.get(f.media("clip", hashlib.sha256(CLIP).hexdigest()),
                         headers={"range": "bytes=0-9"}).content == CLIP[:10]  # fmt: skip
            assert c.get("/api/alerts").json()[1]["acked_by"] == "budi"
    finally:
        store.close()
