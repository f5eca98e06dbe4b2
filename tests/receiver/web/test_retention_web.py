"""Retention on the dashboard: an officer places an incident on hold from its page (a form
with a reason) and releases it (JSON), each in the incident's history; a viewer is offered
neither and refused; once a pass deleted an incident's clip and snapshot, their URLs answer
410 "deleted by retention on DATE WIB" (no byte, though the file is still there) and the
incident page and the alert page say so in place of the clip and the image."""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dash import Fleet, add_user, client_for, csrf_of, jpeg, login, web_config
from starlette.testclient import TestClient

from edge.receiver.ackaudit.appender import Appender
from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.config import ReceiverConfig
from edge.receiver.retention import DAY, Pass, record_due
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.workflow import incident_url

JSON = {"accept": "application/json"}


@dataclass
class Web:
    """A dashboard with officer budi and viewer vina logged in, and a node."""

    cfg: ReceiverConfig
    store: ReceiverStore
    fleet: Fleet
    budi: TestClient
    vina: TestClient
    tmp: Path


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """The dashboard on SQLite (the store's side runs on both engines in test_retention)."""
    cfg = web_config(tmp_path / "rx", "[retention]\ndays = 30")
    store = ReceiverStore(cfg.store_url, cfg.data_dir)
    try:
        add_user(store, "budi", "officer")
        add_user(store, "vina", "viewer")
        with store.db.transaction() as cur:
            cur.execute("UPDATE users SET lang = 'en'")
        with client_for(cfg, store) as budi, client_for(cfg, store) as vina:
            assert login(budi, "budi").status_code == 303
            assert login(vina, "vina").status_code == 303
            yield Web(cfg, store, Fleet(store), budi, vina, tmp_path)
    finally:
        store.close()


def _incident(w: Web) -> tuple[str, str, str, str]:
    """An alarm with a clip and a snapshot: its incident page URL, clip id, snapshot id."""
    mp4 = w.tmp / "clip.mp4"
    mp4.write_bytes(os.urandom(4000))
    clip_id, snap_id = w.fleet.clip(mp4), w.fleet.snapshot(jpeg())
    event = w.fleet.event("person", clip_id=clip_id, snapshot_id=snap_id)
    site, incident = w.store.db.query(
        "SELECT site, incident FROM occurrences WHERE first_event = ?", (event,)
    )[0]
    return incident_url(site, incident), str(clip_id), str(snap_id), str(incident)


def test_hold_and_release_from_the_incident_page(web: Web) -> None:
    """budi holds the incident by its form (a reason is needed: 400 without), the page
    shows who holds it and why and offers the release, which budi does by JSON; the
    history lists both; vina sees no hold form and is refused (403). The chain verifies."""
    url, *_ = _incident(web)
    page = web.budi.get(url).text
    assert 'id="hold-place"' in page and 'id="hold-release"' not in page
    assert 'id="hold-place"' not in web.vina.get(url).text
    headers = {"referer": f"http://testserver{url}"}
    bare = web.budi.post(f"{url}/hold", data={"csrf": csrf_of(page)}, headers=headers)
    assert bare.status_code == 400 and "needs a reason" in bare.text
    placed = web.budi.post(f"{url}/hold", headers=headers, follow_redirects=False,
                           data={"csrf": csrf_of(page), "reason": "LP/B/9/XII/2026"})  # fmt: skip
    assert placed.status_code == 303 and placed.headers["location"] == url
    page = html.unescape(web.budi.get(url).text)
    assert re.search(r'<dd id="held">budi, \d\d-\d\d-\d{4} [\d:]+ WIB: LP/B/9/XII/2026</dd>', page)
    assert 'id="hold-release"' in page and 'id="hold-place"' not in page
    assert '<span class="held"' in web.budi.get("/alerts").text  # the console says so too
    refused = web.vina.post(f"{url}/hold", data={"csrf": csrf_of(web.vina.get(url).text),
                                                 "reason": "x"})  # fmt: skip
    assert refused.status_code == 403
    token = {"x-csrf-token": csrf_of(page)}
    released = web.budi.post(f"{url}/release", json={"reason": "case closed"},
                             headers={**JSON, **token})  # fmt: skip
    assert released.status_code == 200 and released.json()["held"] is None
    notes = re.sub(r"<[^>]+>", "", html.unescape(web.budi.get(url).text))
    assert "placed on hold: LP/B/9/XII/2026" in notes and "hold released: case closed" in notes
    assert verify_chain(web.store.db, web.cfg.data_dir).ok


def test_deleted_media_answers_410_and_the_page_says_so(web: Web) -> None:
    """After the pass recorded the clip and snapshot deleted (the files not yet removed: an
    interrupted pass), their URLs and the evidence bundle answer 410 with the date in WIB,
    never the bytes; the incident page and the alert page name the deletions instead of the
    clip and image, and the console's list shows no thumbnail."""
    url, clip_id, _, _ = _incident(web)
    shas = dict(web.store.db.query("SELECT clip_id, sha256 FROM clips"))
    snap_sha = web.store.db.query("SELECT sha256 FROM snapshots")[0][0]
    clip_url, snap_url = (
        web.fleet.media("clip", shas[clip_id]),
        web.fleet.media("snapshot", snap_sha),
    )
    assert web.budi.get(clip_url).status_code == 200
    assert snap_url in web.budi.get("/alerts").text
    out = Pass(time.time() + 31 * DAY, 30)
    record_due(Appender(web.store.db, web.cfg.data_dir, web.cfg.receiver.name), 30, out.now,
               200, out)  # fmt: skip
    assert len(out.deleted) == 2
    when = web.cfg.console.zone.when(out.now)
    for media in (clip_url, snap_url):
        gone = web.budi.get(media)
        assert gone.status_code == 410, gone.text
        assert gone.text == f"deleted by retention on {when}" and when.endswith(" WIB")
    page = html.unescape(web.budi.get(url).text)
    assert f"Clip deleted by retention on {when}" in page
    assert f"Snapshot deleted by retention on {when}" in page
    assert 'class="occ-snapshot"' not in page
    assert snap_url not in web.budi.get("/alerts").text  # the console's thumbnail goes
    event = web.store.db.query("SELECT id FROM events WHERE clip_id = ?", (clip_id,))[0][0]
    zipped = web.budi.get(web.fleet.url(str(event), "evidence"))
    assert zipped.status_code == 410 and zipped.text == f"deleted by retention on {when}"
    detail = html.unescape(web.budi.get(web.fleet.url(str(event))).text)
    assert f"Clip deleted by retention on {when}" in detail and "<video" not in detail
    assert f"Snapshot deleted by retention on {when}" in detail and 'id="snapshot"' not in detail
