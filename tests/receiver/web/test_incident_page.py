"""The incident page and the alert page through a test client, on SQLite and PostgreSQL:
the incident's occurrences in time order (not arrival order) with times in WIB, readable
names, snapshot and clip links; its workflow state and history (who, when, what, the audit
record) with the workflow's actions for officers only; the alert page's one zone, its link
to the incident, the marker of the event inside a real committed clip (event time minus
the clip's signed start); acknowledging by fetch answers JSON, not a redirect."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from casefile import DOOR_OPEN_S, INCIDENT, WIB, Case, logged_in, make_case, row, store_url
from dash import csrf_of
from starlette.testclient import TestClient

from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import i18n, words
from edge.receiver.web.incident_page import incident_url
from edge.receiver.web.links import event_url
from edge.receiver.web.media import clip_timing


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on either engine."""
    s = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    yield s
    s.close()


@pytest.fixture
def case(store: ReceiverStore, tmp_path: Path) -> Case:
    """The door-and-person incident."""
    return make_case(store, tmp_path)


@pytest.fixture
def officer(store: ReceiverStore, tmp_path: Path) -> Iterator[TestClient]:
    """Officer budi's client."""
    with logged_in(store, tmp_path / "rx", "budi", "officer") as c:
        yield c


def _id(name: str) -> str:
    """*name* in Bahasa Indonesia (the receiver's default language)."""
    with i18n.use("id"):
        return words.kindname(name)


def test_the_incident_page_lists_occurrences_in_time_order_with_names_and_media(
    officer: TestClient, case: Case
) -> None:
    """The door (3 s after the clip starts, stored second) comes before the person; each
    with its time in WIB, its readable name, its duration (the door's, from START to END;
    the person still open), node and sensor or camera; the person's
    snapshot and a link to the page that plays its clip; an unknown incident is a 404."""
    f, site = case.fleet, case.fleet.node.site
    page = officer.get(incident_url(site, INCIDENT))
    assert page.status_code == 200, page.text[:300]
    text = html.unescape(page.text)
    order = re.findall(r'<li class="occ[^"]*" data-kind="([^"]+)"', page.text)
    assert order == ["door_open", "person"]
    assert 'data-kind="motion"' not in page.text
    for name in ("door", "person"):
        assert WIB.when(case.times[name]) in text
    assert _id("door_open") in text and _id("person") in text
    assert _id("door_open") != "door_open"  # a readable name, not the raw kind
    assert "pintu-1" in text and "gudang-1" in text and "lorong, rak-3" in text
    with i18n.use("id"):
        lasted, open_ = words.duration(DOOR_OPEN_S), i18n.gettext("still open")
    assert re.findall(r'<span class="duration">([^<]*)</span>', text) == [lasted, open_]
    snap = row(f.store, "SELECT sha256 FROM snapshots")[0]
    assert f'src="{f.media("snapshot", snap)}"' in page.text
    assert f'href="{event_url(site, f.node.node, case.ids["person"])}#clip"' in page.text
    assert 'id="workflow"' in page.text  # the actions (H2's _workflow.html)
    assert officer.get(incident_url(site, "no-such-incident")).status_code == 404


def test_the_workflow_state_and_history_say_who_when_and_what(
    officer: TestClient, case: Case, store: ReceiverStore, tmp_path: Path
) -> None:
    """Acknowledged (JSON, from the list's bulk endpoint) and commented on: the page shows
    the state, and each note with user, time in WIB, action and text and its audit record;
    a viewer sees the same history but no actions."""
    site = case.fleet.node.site
    url = incident_url(site, INCIDENT)
    token = csrf_of(officer.get(url).text)
    body = {"csrf": token, "items": [f"{site}/{INCIDENT}"], "note": "dilihat"}
    r = officer.post("/incidents/ack", headers={"accept": "application/json"}, json=body)
    assert r.status_code == 200 and r.json()["acknowledged"], r.text
    r = officer.post(f"{url}/comment", data={"csrf": token, "text": "patroli dikirim"},
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = officer.get(url).text
    assert 'data-status="acknowledged"' in page
    notes = store.db.query("SELECT username, time, action, text, audit_hash FROM incident_notes"
                           " WHERE incident = ? ORDER BY seq", (INCIDENT,))  # fmt: skip
    assert [n[2] for n in notes] == ["acknowledge", "comment"]
    shown = re.findall(r'<li class="note[^"]*" data-action="(\w+)" data-user="(\w+)">', page)
    assert shown == [("acknowledge", "budi"), ("comment", "budi")]
    for user, when, _action, note, audit in notes:
        assert user == "budi" and WIB.when(float(when)) in page
        assert note in page and audit in page
    with logged_in(store, tmp_path / "rx", "vina", "viewer") as viewer:
        seen = viewer.get(url).text
    assert "patroli dikirim" in seen and 'id="wf-comment"' not in seen


def test_the_alert_page_marks_the_event_inside_its_clip(officer: TestClient, case: Case) -> None:
    """The person's page: one zone (event time and receipt both in WIB, labelled; no raw
    UTC string), a link to the incident, and the player's marker at the event's offset:
    its time minus the clip's signed start, also where the player seeks."""
    f = case.fleet
    page = officer.get(f.url(case.ids["person"])).text
    offset = case.times["person"] - case.clip_start
    marks = re.findall(r'data-offset="([0-9.]+)"', page)
    assert len(marks) == 3 and {float(m) for m in marks} == {round(offset, 3)}
    assert 'id="event-marker"' in page and 'id="timeline"' in page
    assert '<script src="/static/detail.js" defer></script>' in page
    received = float(row(f.store, "SELECT received FROM events WHERE id = ?",
                         (case.ids["person"],))[0])  # fmt: skip
    assert f'<dd id="event-time">{WIB.when(case.times["person"])}</dd>' in page
    assert f'<dd id="received-time">{WIB.when(received)}</dd>' in page
    assert "Z (received" not in page and not re.search(r"\d\dT\d\d:\d\d:\d\dZ", page)
    assert f'href="{incident_url(f.node.site, INCIDENT)}"' in page
    assert f.url(case.ids["door"]) in page
    sha = hashlib.sha256(b"".join([bytes(range(256))] * 800)).hexdigest()
    assert f.media("clip", sha) in page
    assert officer.get("/static/detail.js").status_code == 200


def test_acknowledging_by_fetch_answers_json_and_no_redirect(
    officer: TestClient, case: Case, store: ReceiverStore
) -> None:
    """detail.js's fetch (Accept: application/json) gets 200 JSON with who acknowledged and
    the re-rendered section (no redirect: the page and its player stay); the incident is
    acknowledged too; a second one says it was already."""
    f = case.fleet
    page = officer.get(f.url(case.ids["person"])).text
    action = re.search(r'<form method="post" action="([^"]+)" class="ack">', page)
    assert action is not None
    body = {"csrf": csrf_of(page), "note": "terlihat di kamera"}
    r = officer.post(action[1], data=body, headers={"accept": "application/json"},
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    got = r.json()
    assert got["acknowledged"] is True and got["ack"]["username"] == "budi"
    assert got["workflow"]["status"] == "acknowledged"
    assert 'id="ack-section"' in got["html"] and "<strong>budi</strong>" in got["html"]
    assert WIB.when(float(got["ack"]["time"])) in got["html"]
    assert "<html" not in got["html"]
    again = officer.post(action[1], data=body, headers={"accept": "application/json"})
    assert again.status_code == 200 and again.json()["acknowledged"] is False
    assert row(store, "SELECT status, acked_by FROM incidents WHERE incident = ?",
               (INCIDENT,)) == ("acknowledged", "budi")  # fmt: skip


def test_the_clip_offset_is_kept_inside_the_clip() -> None:
    """Event time minus the manifest's start; an event before the first frame marks 0 and
    one after the last marks the end, both flagged outside; a manifest without
    duration_s uses end - start; no start or no event time: no marker."""
    manifest = {"start": 1000.0, "end": 1010.0, "duration_s": 10.0}
    inside = clip_timing(manifest, "1970-01-01T00:16:46Z")  # 1006
    assert inside is not None and inside["offset"] == 6.0 and not inside["outside"]
    before = clip_timing(manifest, 995.5)
    assert before is not None and before["offset"] == 0.0 and before["outside"]
    after = clip_timing(manifest, 1030)
    assert after is not None and after["offset"] == 10.0 and after["outside"]
    no_duration = clip_timing({"start": 1000.0, "end": 1004.0}, "1970-01-01T07:16:42+07:00")
    assert no_duration is not None and no_duration["duration"] == 4.0
    assert no_duration["offset"] == 2.0
    assert clip_timing({"end": 1010.0}, 1005) is None
    assert clip_timing(manifest, "yesterday") is None
    assert clip_timing(manifest, "2026-12-07T06:14:18") is None  # no zone: no one moment
