"""The auditor's pages in Chromium (issue 26), on a real ``edge receive --http`` over the
session's mosquitto (mutual TLS): officers' accesses recorded by the dashboard (one round
before the receiver starts, chained when that dashboard stopped; one live clip viewing on
the running receiver, still in progress), then an auditor logs in through the form in
Bahasa Indonesia and lands on the access log (both shown, filtered by user), is refused the
clip with the 403 page (no byte, no access recorded), makes the day's export on the reports
page, which then verifies and reconciles with the node's signed report; both pages are
saved as screenshots (``auditor-access.png``, ``auditor-reports.png`` and the refusal,
``auditor-refused.png``; copied to docs/screenshots/)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from auditcase import AGO_S, node_report, past_case
from casefile import CLIP
from dash import PASSWORD, add_user, client_for, csrf_of, login
from officer import wait_for
from officer_pages import shot
from procs import CHROMEDRIVER, CHROMIUM, chromium, daemon, free_port, receiver_toml, wait_http
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from starlette.applications import Starlette

from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.access.export import held
from edge.receiver.config import load
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import accesslog

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver",
    ),
]


def _rows(b: WebDriver) -> list[tuple[str, str]]:
    """(user, action) of the access log's recorded rows."""
    return [(str(r.get_attribute("data-user")), str(r.get_attribute("data-action")))
            for r in b.find_elements(By.CSS_SELECTOR, "#access-log tr.access")]  # fmt: skip


def _officer_round(store: ReceiverStore, conf: Path, case_urls: dict[str, str]) -> None:
    """Budi opens the alert, plays the clip in two Range requests, sees the snapshot and
    downloads the evidence on the dashboard; the dashboard stops (the viewing is chained)."""
    with client_for(load(conf), store) as c:
        assert login(c, "budi").status_code == 303
        assert c.get(case_urls["detail"]).status_code == 200
        for first, last in ((0, 65535), (65536, 131071)):
            r = c.get(case_urls["clip"], headers={"range": f"bytes={first}-{last}"})
            assert r.status_code == 206
        assert c.get(case_urls["snapshot"]).status_code == 200
        assert c.get(case_urls["evidence"]).status_code == 200
        assert isinstance(c.app, Starlette)
        accesslog.stopped(c.app)


def _live_viewing(url: str, clip: str) -> None:
    """Sari logs in on the running receiver and starts the clip (a viewing in progress)."""
    with httpx.Client(base_url=url, timeout=10, follow_redirects=True) as h:
        page = h.get("/login").text
        r = h.post("/login", data={"username": "sari", "password": PASSWORD,
                                   "csrf": csrf_of(page), "next": "/alerts"})  # fmt: skip
        assert r.status_code == 200 and "/alerts" in str(r.url), r.text[:300]
        got = h.get(clip, headers={"range": "bytes=0-32767"})
        assert got.status_code == 206 and got.content == CLIP[:32768]


def test_the_auditor_reads_the_log_is_refused_a_clip_and_reconciles(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """The access log shows Budi's four accesses (the clip with its merged byte range) and
    Sari's viewing in progress, filters to Budi; the clip's URL answers the auditor the
    403 page in Bahasa Indonesia and nothing is recorded for her; on the reports page the
    node's report is unreconciled until the auditor makes the export, then it is verified
    and agrees."""
    port = free_port()
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(data, broker, ca, f"polda-audit-{port}", f"audit-{port}")
                    + f'[transparency]\nreports_dir = "{tmp_path / "reports"}"\n')  # fmt: skip
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        case = past_case(store, tmp_path)
        f = case.fleet
        clip_sha = store.db.query("SELECT sha256 FROM clips")[0][0]
        snap_sha = store.db.query("SELECT sha256 FROM snapshots")[0][0]
        person = case.ids["person"]
        urls = {
            "detail": f.url(person),
            "evidence": f.url(person, "evidence"),
            "clip": f.media("clip", clip_sha),
            "snapshot": f.media("snapshot", snap_sha),
        }
        for name, role in (("budi", "officer"), ("sari", "officer"), ("audra", "auditor")):
            add_user(store, name, role)
        _officer_round(store, conf, urls)
        now = time.time()
        since = now - AGO_S - 3600
        node_report(tmp_path / "reports" / "gudang-07", f.node, held(store.db, since, now - 600),
                    since, now - 600)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        args = ["receive", "-c", str(conf), "--http", f"127.0.0.1:{port}"]
        with daemon(args, tmp_path / "receiver.log") as rx, chromium((1400, 900)) as b:
            wait_http(f"{url}/login", rx)
            _live_viewing(url, urls["clip"])
            b.get(f"{url}/login")
            b.find_element(By.ID, "username").send_keys("audra")
            b.find_element(By.ID, "password").send_keys(PASSWORD)
            b.find_element(By.ID, "login").click()
            WebDriverWait(b, 10).until(lambda d: d.current_url.endswith("/audit/access"))
            assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "id"
            assert sorted(_rows(b)) == sorted(("budi", a) for a in ("view_detail", "play_clip",
                                              "view_snapshot", "download_evidence"))  # fmt: skip
            viewing = b.find_elements(By.CSS_SELECTOR, "#viewings tr.viewing")
            assert [v.get_attribute("data-user") for v in viewing] == ["sari"]
            body = b.find_element(By.TAG_NAME, "body").text
            assert "Rekaman diputar" in body and "0 B\u2013128.0 KB" in body and "WIB" in body
            shot(b, "auditor-access.png")
            Select(b.find_element(By.ID, "filter-user")).select_by_value("sari")
            b.find_element(By.ID, "filter-apply").click()
            WebDriverWait(b, 10).until(lambda d: "user=sari" in d.current_url)
            assert _rows(b) == []
            recorded = store.db.query("SELECT COUNT(*) FROM access_log")[0][0]
            b.get(f"{url}{urls['clip']}")
            why = b.find_element(By.ID, "forbidden-why").text
            assert "auditor" in why and "rekaman" in why, why
            assert b.find_element(By.ID, "forbidden").get_attribute("data-why") == "auditor"
            assert store.db.query("SELECT COUNT(*) FROM access_log")[0][0] == recorded
            assert not store.db.query("SELECT 1 FROM access_viewings WHERE username = 'audra'")
            b.set_window_size(1000, 480)
            shot(b, "auditor-refused.png")
            b.set_window_size(1400, 900)
            b.find_element(By.ID, "to-reports").click()
            WebDriverWait(b, 10).until(lambda d: d.current_url.endswith("/audit/reports"))
            report = b.find_element(By.CSS_SELECTOR, "#node-reports tr.report")
            assert report.get_attribute("data-reconciled") == "none"
            assert report.get_attribute("data-verified") == "yes"
            b.find_element(By.CSS_SELECTOR, "#node-reports button.make-matching").click()
            WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "export-made"))
            report = b.find_element(By.CSS_SELECTOR, "#node-reports tr.report")
            assert report.get_attribute("data-reconciled") == "agree", report.text
            export = b.find_element(By.CSS_SELECTOR, "#exports tr.export")
            assert export.get_attribute("data-verified") == "yes", export.text
            assert "Keduanya cocok" in report.text
            shot(b, "auditor-reports.png")
            wait_for(rx.running, 1, "the receiver still running")
    finally:
        store.close()
