"""``/audit/reports`` (issue 26): an auditor makes a signed receiver export for a period
(days in WIB) and downloads it; the nodes' sharing reports under ``[transparency]
reports_dir`` are listed with their verification (with the node's enrolled key) and their
reconciliation with the newest export covering them: agreeing, or naming what the node
delivered that the receiver does not hold; a report changed after signing is not verified.
On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from auditcase import AGO_S, node_report, past_case
from casefile import store_url
from dash import add_user, client_for, csrf_of, login, web_config

from edge.evidence.bundle import verify_bundle
from edge.receiver.access.export import held
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.audit_reports import period

WIB_S = 7 * 3600
"""WIB's offset from UTC."""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine."""
    s = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    yield s
    s.close()


def _row(page: str, cls: str, name: str) -> str:
    """The table row of bundle *name* (class *cls*)."""
    found = re.search(rf'<tr class="{cls}" data-name="{re.escape(name)}".*?</tr>', page, re.S)
    assert found, page[-3000:]
    return found[0]


def test_an_export_is_made_downloaded_and_reconciles_with_the_node_report(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """The node's report of the last three hours (every item the receiver holds) and
    another delivering one item more are in reports_dir: before an export neither is
    reconciled; the auditor makes the week's export (a signed bundle it downloads as a zip
    that verifies with the receiver's key); then the first agrees and the second names the
    item delivered but not held; a report edited after signing shows not verified."""
    case = past_case(store, tmp_path)
    sim = case.fleet.node
    now = time.time()
    since, until = now - AGO_S - 3600, now - 600
    items = held(store.db, since, until)
    assert len(items) >= 5, items  # four events, the clip, the snapshot
    reports = tmp_path / "rx" / "reports"
    node_report(reports / "gudang-07-day", sim, items, since, until)
    extra = {**items[0], "id": "never-held", "sha256": "f" * 64}
    node_report(reports / "more" / "gudang-07-extra", sim, [*items, extra], since, until)
    add_user(store, "audra", "auditor")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "audra").status_code == 303
        page = c.get("/audit/reports").text
        assert 'data-reconciled="none"' in _row(page, "report", "gudang-07-day")
        assert 'data-verified="yes"' in _row(page, "report", "gudang-07-day")
        first, today = (time.strftime("%Y-%m-%d", time.gmtime(t + WIB_S)) for t in (since, now))
        made = c.post("/audit/reports/export", data={"csrf": csrf_of(page), "since": first,
                      "until": today, "node": f"{sim.site}/{sim.node}"},
                      follow_redirects=False)  # fmt: skip
        assert made.status_code == 303, made.text
        name = made.headers["location"].split("made=", 1)[1]
        page = c.get(made.headers["location"]).text
        assert f"Ekspor dibuat: {name}" in page
        row = _row(page, "export", name)
        assert 'data-verified="yes"' in row and "Tanda tangan dan rantai terverifikasi" in row
        agree = _row(page, "report", "gudang-07-day")
        assert 'data-reconciled="agree"' in agree and "Keduanya cocok" in agree, agree
        more = _row(page, "report", "more/gudang-07-extra")
        assert 'data-reconciled="findings"' in more and 'data-code="delivered_not_held"' in more
        assert "never-held" in more and "1 temuan" in more
        z = c.get(f"/audit/reports/download/export/{name}")
        assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
        unpacked = tmp_path / "unzipped"
        zipfile.ZipFile(io.BytesIO(z.content)).extractall(unpacked)
        pem = store.db.query("SELECT public_key FROM receiver_keys")[0][0]
        check = verify_bundle(unpacked / name, pem)
        assert check.ok, check.problems
        doc = json.loads((unpacked / name / "export.json").read_text())
        assert doc["filters"]["node"] == sim.node and len(doc["held"]) == len(items)
        mine = c.post("/audit/reports/export", data={"csrf": csrf_of(page), "since": first,
                      "until": today, "user": "audra"}, follow_redirects=False)  # fmt: skip
        assert mine.status_code == 303
        page = c.get("/audit/reports").text
        assert 'data-reconciled="agree"' in _row(page, "report", "gudang-07-day")
        name = mine.headers["location"].split("made=", 1)[1]
        assert 'data-verified="yes"' in _row(page, "export", name)  # not used: filtered by user
        r = c.get("/audit/reports/download/report/more/gudang-07-extra")
        assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        for bad in ("../x", "report/..", "more/../../etc", "nope"):
            assert c.get(f"/audit/reports/download/report/{bad}").status_code == 404, bad
        report_json = reports / "gudang-07-day" / "report.json"
        report_json.write_text(report_json.read_text().replace('"polda"', '"polri"', 1))
        edited = _row(c.get("/audit/reports").text, "report", "gudang-07-day")
        assert 'data-verified="no"' in edited and "Tidak terverifikasi" in edited


def test_the_period_is_whole_days_in_wib_and_bad_dates_are_refused(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """2026-12-01..2026-12-02 is 2026-11-30 17:00 UTC to 2026-12-02 17:00 UTC; a reversed
    period, a missing date, a future one or over 400 days answers 400 naming the field; an
    exports directory that cannot be made answers 500 naming it."""
    zone = web_config(tmp_path / "rx").console.zone
    since, until = period("2026-12-01", "2026-12-02", zone, 2e9)
    assert (since, until) == (1796058000.0, 1796230800.0)
    assert period("2026-12-01", "2026-12-02", zone, 1796100000.0)[1] == 1796100000.0
    add_user(store, "audra", "auditor")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "audra").status_code == 303
        token = csrf_of(c.get("/audit/reports").text)
        for since_day, until_day, said in (("2026-12-02", "2026-12-01", "until"),
                                           ("", "2026-12-01", "since"),
                                           ("2999-01-01", "2999-01-02", "future"),
                                           ("2020-01-01", "2026-01-01", "400 days")):  # fmt: skip
            r = c.post("/audit/reports/export",
                       data={"csrf": token, "since": since_day, "until": until_day})  # fmt: skip
            assert r.status_code == 400 and said in r.text, (since_day, r.text)
        assert c.post("/audit/reports/export", data={"since": "2026-12-01"}).status_code == 403
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    cfg = web_config(tmp_path / "rx", f'[transparency]\nexports_dir = "{blocked}"\n')
    with client_for(cfg, store) as c:
        assert login(c, "audra").status_code == 303
        page = c.get("/audit/reports").text
        day = time.strftime("%Y-%m-%d")
        r = c.post(
            "/audit/reports/export", data={"csrf": csrf_of(page), "since": day, "until": day}
        )
        assert r.status_code == 500 and "the export could not be written" in r.text
        assert str(blocked) in r.text
