"""The fleet board as an officer reads it: nodes under their warehouses' display names,
grouped by kabupaten/kota, offline first, counts per state at the top, "offline since" in
the display zone, the last health of an offline node greyed as stale, a never-seen node grey
(not red), two nodes of one name told apart by their warehouse, forged and quarantined
messages per node and in total, and sort and filter by query parameters. On both engines."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dash import PASSWORD, PREFIX, Fleet, add_user, client_for, login, web_config
from pg import PgServer
from procs import CHROMEDRIVER, CHROMIUM, chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from starlette.testclient import TestClient
from timing import wait_until

from edge.bench.fleet import SimNode
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.server import WebServer

PLACES = """
[sites.semarang]
name = "Gudang Bulog Kaligawe"
address = "Jl. Kaligawe Raya 12"
regency = "Kota Semarang"
[sites.solo]
name = "Gudang Solo Baru"
regency = "Kota Surakarta"
[sites.demak]
name = "Gudang Demak"
regency = "Kabupaten Demak"
[nodes."semarang/gudang-07"]
name = "Pintu utara"
[nodes."demak/gudang-07"]
name = "Pintu utara"
"""
WEB = Path(__file__).resolve().parents[3] / "edge" / "receiver" / "web"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def board(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, dict[str, float]]]:
    """A fleet of four (semarang online with 4 forged messages, solo offline after a 51 °C
    heartbeat, demak never seen, kudus degraded) on each engine, and an officer's client;
    with the window in which solo went offline."""
    tmp = tmp_path_factory.mktemp("board")
    pg: PgServer | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'rx' / 'receiver.db'}"
    else:  # one database for the module (pg_url is per test)
        pg = request.getfixturevalue("pg_server")
        url = pg.new_database(f"fleet_board_{tmp.name}".replace("-", "_")[:50])
    store = ReceiverStore(url, tmp / "rx")
    window = _fill(store)
    add_user(store, "budi", "officer")
    with client_for(web_config(tmp / "rx", extra=PLACES), store) as c:
        assert login(c, "budi").status_code == 303
        yield c, window
    store.close()
    if pg is not None and pg.pid is not None:
        pg.drop_database(url.rsplit("/", 1)[1])


def _fill(store: ReceiverStore) -> dict[str, float]:
    """Semarang online with 4 forged messages, solo offline after a 51 °C heartbeat, demak
    never seen, kudus degraded; the window in which solo went offline."""
    semarang = Fleet(store)
    solo = Fleet(store, node=SimNode("solo", "gudang-09"))
    Fleet(store, node=SimNode("demak", "gudang-07"))
    kudus = Fleet(store, node=SimNode("kudus", "gudang-01"))
    semarang.commit([semarang.node.heartbeat()])
    solo.commit([solo.node.heartbeat(cpu_temp_c=51.0)])
    kudus.commit([kudus.node.heartbeat(status="degraded", reasons=["camera_fault:gudang-1"])])
    topic = f"{PREFIX}/semarang/gudang-07/events"
    forged = [semarang.checker.check(topic, json.dumps({"n": i}).encode(), {}) for i in range(4)]
    store.commit(forged)
    before = time.time()
    store.alerts([AlertOp(True, AlertKind.NODE_OFFLINE, "solo", "gudang-09", "", "silent")])
    window = {"before": before, "after": time.time()}
    return window


def _rows(html: str) -> list[dict[str, str]]:
    """Each node row's data-* attributes and classes, in page order."""
    out = []
    for m in re.finditer(r'<tr class="node ([^"]*)"([^>]*)>(.*?)</tr>', html, re.S):
        attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m[2]))
        out.append({**attrs, "class": m[1], "html": m[3]})
    return out


def _ids(html: str) -> list[str]:
    return [f"{r['site']}/{r['node']}" for r in _rows(html)]


def test_offline_first_grouped_with_counts(board: tuple[TestClient, dict[str, float]]) -> None:
    """Counts per state over the whole fleet; the group holding the offline node first and
    the offline node first in it; groups named by kabupaten/kota, unset ones last."""
    client, _ = board
    page = client.get("/fleet").text
    counts = dict(re.findall(r'data-state="([a-z ]+)" data-count="(\d+)"', page))
    assert counts == {"online": "1", "degraded": "1", "offline": "1", "never seen": "1"}
    assert _ids(page) == ["solo/gudang-09", "kudus/gudang-01", "demak/gudang-07",
                          "semarang/gudang-07"]  # fmt: skip
    regencies = re.findall(r'<tbody class="regency" data-regency="([^"]*)"', page)
    assert regencies == ["Kota Surakarta", "", "Kabupaten Demak", "Kota Semarang"]
    assert 'id="board-filters"' in page and 'src="/static/fleet.js"' in page


def test_never_seen_is_grey_not_red(board: tuple[TestClient, dict[str, float]]) -> None:
    """A node never heard from is in the ``never seen`` state, styled with the documented
    grey, never as offline (red)."""
    client, _ = board
    row = next(r for r in _rows(client.get("/fleet/board").text) if r["site"] == "demak")
    assert row["state"] == "never seen" and "state-never-seen" in row["class"]
    assert "state-offline" not in row["class"] and "offline-since" not in row
    css = (WEB / "static" / "app.css").read_text() + (WEB / "static" / "fleet.css").read_text()
    assert re.search(r"state-never-seen td\.state \{ background: var\(--grey\)", css)


def test_offline_since_in_the_display_zone(board: tuple[TestClient, dict[str, float]]) -> None:
    """The offline node says since when, as the clock time in Asia/Jakarta with WIB, and
    for how long."""
    client, window = board
    row = _rows(client.get("/fleet/board?lang=en").text)[0]
    since = float(row["offline-since"])
    assert window["before"] - 1 <= since <= window["after"] + 1
    local = datetime.fromtimestamp(since, UTC).astimezone(ZoneInfo("Asia/Jakarta"))
    shown = re.search(r'<span class="since">([^<]*)</span>', row["html"])
    assert shown is not None
    assert f"{local:%H:%M} WIB" in shown[1] and shown[1].startswith("offline since")
    row_id = _rows(client.get("/fleet/board").text)[0]
    assert f"{local:%H:%M} WIB" in row_id["html"]


def test_stale_health_of_an_offline_node_is_greyed(
    board: tuple[TestClient, dict[str, float]],
) -> None:
    """The offline node's last temperature is shown as stale (greyed, with when it was
    reported); an online node's is current."""
    client, _ = board
    rows = {r["site"]: r for r in _rows(client.get("/fleet/board").text)}
    solo, semarang = rows["solo"], rows["semarang"]
    assert "stale" in solo["class"] and 'class="health temp stale">51 °C' in solo["html"]
    assert 'class="stale-note"' in solo["html"]
    assert "stale" not in semarang["class"] and 'class="health temp">48 °C' in semarang["html"]
    assert "stale-note" not in semarang["html"]


def test_same_names_told_apart_and_forgeries_counted(
    board: tuple[TestClient, dict[str, float]],
) -> None:
    """Two nodes named "Pintu utara" each show their warehouse's name; the forged and
    quarantined messages of semarang's node are on its row and in the totals."""
    client, _ = board
    html = client.get("/fleet/board").text
    rows = {r["site"]: r for r in _rows(html)}
    for site, label in (("semarang", "Gudang Bulog Kaligawe"), ("demak", "Gudang Demak")):
        assert '<span class="node-name">Pintu utara</span>' in rows[site]["html"]
        assert f'<span class="site-name same-name">{label}</span>' in rows[site]["html"]
    assert "same-name" not in rows["solo"]["html"]
    assert rows["semarang"]["forged"] == "4" and rows["semarang"]["quarantined"] == "4"
    assert rows["solo"]["forged"] == "0" and rows["solo"]["quarantined"] == "0"
    assert re.search(r'id="hostility"[^>]*data-kept="4"[^>]*data-forged="4"', html)
    assert 'data-quarantined-nodes="4"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=offline", ["solo/gudang-09"]),
        ("state=never+seen", ["demak/gudang-07"]),
        ("regency=Kota+Semarang", ["semarang/gudang-07"]),
        ("regency=-", ["kudus/gudang-01"]),
        ("q=PINTU", ["demak/gudang-07", "semarang/gudang-07"]),
        ("q=kaligawe", ["semarang/gudang-07"]),
        ("q=demak", ["demak/gudang-07"]),
        ("sort=name", ["kudus/gudang-01", "solo/gudang-09", "semarang/gudang-07",
                       "demak/gudang-07"]),
        ("sort=seen", ["demak/gudang-07", "semarang/gudang-07", "solo/gudang-09",
                       "kudus/gudang-01"]),
        ("sort=site", ["semarang/gudang-07", "demak/gudang-07", "solo/gudang-09",
                       "kudus/gudang-01"]),
        ("state=online&q=nothing", []),
    ],
)  # fmt: skip
def test_filter_and_sort(
    board: tuple[TestClient, dict[str, float]], query: str, expected: list[str]
) -> None:
    """State, kabupaten/kota and text filter the rows (counts stay the fleet's); sort orders
    them; the page's form shows the choices."""
    client, _ = board
    html = client.get(f"/fleet/board?{query}").text
    assert _ids(html) == expected
    assert re.search(r'data-state="online" data-count="1"', html)
    if not expected:
        assert 'class="empty"' in html
    page = client.get(f"/fleet?{query}").text
    assert _ids(page) == expected


def test_the_form_keeps_the_choices(board: tuple[TestClient, dict[str, float]]) -> None:
    """The filter form is rendered with the query's choices selected (the refresh script
    sends the form's values with every refresh, and keeps them in the address)."""
    client, _ = board
    page = client.get("/fleet?state=offline&regency=Kota+Surakarta&q=solo&sort=seen").text
    assert '<option value="offline" selected>' in page
    assert '<option value="Kota Surakarta" selected>' in page
    assert 'name="q" value="solo"' in page and '<option value="seen" selected>' in page
    script = (WEB / "static" / "fleet.js").read_text()
    assert "new FormData(form)" in script and '"/fleet/board"' in script
    assert "replaceState" in script


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("state=asleep", "state 'asleep'"),
        ("sort=colour", "sort 'colour'"),
        ("q=" + "x" * 101, "q:"),
    ],
)
def test_bad_parameters_are_refused_by_name(
    board: tuple[TestClient, dict[str, float]], query: str, named: str
) -> None:
    """An unknown state or order, or a too long text: 400 naming it."""
    client, _ = board
    r = client.get(f"/fleet/board?{query}")
    assert r.status_code == 400 and named in r.text


@pytest.mark.slow
def test_the_open_board_keeps_its_filter_across_refreshes(tmp_path: Path) -> None:
    """In Chromium: choosing a state and typing a text filter the board at once, put the
    choices in the address, and the periodic refresh (0.5 s here) keeps them."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("needs Debian's chromium and chromium-driver (make apt-test)")
    store = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    _fill(store)
    add_user(store, "budi", "officer")
    cfg = web_config(tmp_path / "rx", extra=PLACES, http="board_refresh_s = 0.5")
    web = WebServer(cfg, ReceiverStore(cfg.store_url, cfg.data_dir), "127.0.0.1:0")
    web.start()
    try:
        with chromium((1200, 900)) as b:
            b.get(f"{web.url}/login")
            b.find_element(By.NAME, "username").send_keys("budi")
            b.find_element(By.NAME, "password").send_keys(PASSWORD + Keys.ENTER)
            assert wait_until(lambda: "/login" not in b.current_url, 10), "logged in"
            b.get(f"{web.url}/fleet")
            shown = "return [...document.querySelectorAll('tr.node')].map(r => r.id)"
            assert len(b.execute_script(shown)) == 4
            Select(b.find_element(By.NAME, "state")).select_by_value("offline")
            assert wait_until(lambda: b.execute_script(shown) == ["node-solo-gudang-09"], 10)
            assert "state=offline" in b.current_url
            board = b.find_element(By.ID, "board")
            updated = board.get_attribute("data-updated")
            assert wait_until(lambda: board.get_attribute("data-updated") != updated, 10)
            assert b.execute_script(shown) == ["node-solo-gudang-09"]
            Select(b.find_element(By.NAME, "state")).select_by_value("")
            b.find_element(By.NAME, "q").send_keys("pintu")
            both = ["node-demak-gudang-07", "node-semarang-gudang-07"]
            assert wait_until(lambda: b.execute_script(shown) == both, 10)
            assert "q=pintu" in b.current_url and "state=" not in b.current_url
    finally:
        web.stop()
        web.store.close()
        store.close()


def test_offline_since_the_last_will_when_it_came_first(tmp_path: Path) -> None:
    """A node whose last will marked it offline before the silence alert: the board counts
    from the will's time ("offline since HH:MM WIB (3 hr)")."""
    store = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    try:
        _fill(store)
        will = time.time() - 3 * 3600 - 60
        with store.db.transaction() as cur:
            cur.execute(
                "UPDATE nodes SET online = 0, offline_since = ? WHERE site = 'solo'", (will,)
            )
        add_user(store, "budi", "officer")
        with client_for(web_config(tmp_path / "rx", extra=PLACES), store) as c:
            assert login(c, "budi").status_code == 303
            row = _rows(c.get("/fleet/board?lang=en").text)[0]
    finally:
        store.close()
    assert row["site"] == "solo" and float(row["offline-since"]) == pytest.approx(will)
    local = datetime.fromtimestamp(will, UTC).astimezone(ZoneInfo("Asia/Jakarta"))
    assert f"offline since {local:%H:%M} WIB (3 hr)" in row["html"] or (
        f"offline since {local:%d-%m-%Y %H:%M} WIB (3 hr)" in row["html"]  # before midnight
    )
