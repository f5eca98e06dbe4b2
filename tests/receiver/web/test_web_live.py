"""The dashboard served for real (uvicorn on a thread, a plain HTTP client): the live list's
server-sent events, the fleet board turning red, keyset pages through 10,000 alerts, and
``edge receive user add``."""

from __future__ import annotations

import io
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dash import (
    PASSWORD,
    Fleet,
    add_user,
    csrf_of,
    sqlite_store,  # noqa: F401 (the store fixture)
    web_config,
)

from edge.bench.console import fill
from edge.cli.main import main
from edge.demo.pki import DemoCA
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import i18n
from edge.receiver.web.server import WebServer, split_bind


@pytest.fixture
def server(tmp_path: Path, store: ReceiverStore) -> Iterator[WebServer]:
    """The dashboard on 127.0.0.1 (a free port), on its own connection to the store."""
    web_store = ReceiverStore(store.db.url, tmp_path / "rx")
    web = WebServer(web_config(tmp_path / "rx"), web_store, "127.0.0.1:0")
    web.start()
    yield web
    web.stop()
    web_store.close()


def _client(server: WebServer, store: ReceiverStore, role: str = "viewer") -> httpx.Client:
    add_user(store, f"u-{role}", role)
    c = httpx.Client(base_url=server.url, timeout=10, follow_redirects=True)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": f"u-{role}", "password": PASSWORD, "csrf": token})
    assert r.status_code == 200 and 'id="console"' in r.text, r.text[:300]
    return c


def test_bind_is_host_and_port() -> None:
    """HOST:PORT, IPv6 in brackets; anything else is refused."""
    assert split_bind("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_bind("[::1]:8443") == ("::1", 8443)
    for bad in ("8080", "host:", ":80", "host:http"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            split_bind(bad)


def test_a_new_alert_is_pushed_to_an_open_stream_within_a_second(
    server: WebServer, store: ReceiverStore
) -> None:
    """An open /api/stream gets ``event: alerts`` with the new seq soon after the commit,
    and the rows fragment after the old seq holds exactly the new event."""
    fleet = Fleet(store)
    first = fleet.event("door_open")
    c = _client(server, store)
    newest = int(store.db.query("SELECT MAX(seq) FROM events")[0][0])
    with c.stream("GET", f"/api/stream?after={newest}") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        committed = time.monotonic()
        second = fleet.event("person")
        seq = None
        for line in lines:
            if line.startswith("data: "):
                seq = int(line.removeprefix("data: "))
                break
        waited = time.monotonic() - committed
    print(f"stream: alert pushed {waited * 1000:.0f} ms after its commit")
    assert seq == newest + 1 and waited < 2
    rows = c.get(f"/alerts/rows?after_seq={newest}").text
    assert second in rows and first not in rows
    c.close()


def test_the_board_turns_red_when_a_node_goes_offline(
    server: WebServer, store: ReceiverStore
) -> None:
    """Heartbeat: online (green) with its cameras, disk, temperature and clock; an open
    node_offline: the fragment the page refreshes says offline; the page asks for a
    refresh within the configured interval."""
    fleet = Fleet(store)
    cams = {"gudang-1": {"frames": 1234, "dropped": 5, "faulted": False}}
    fleet.commit([fleet.node.heartbeat(cameras=cams, disk_free_bytes=5 * 2**30)])
    c = _client(server, store)
    page = c.get("/fleet").text
    assert 'data-refresh="2000"' in page and "state-online" in page
    assert "gudang-1: 1234 / 5" in page and "5.0 GB" in page and "48 °C" in page
    with i18n.use("id"):  # the receiver's default language
        assert i18n.gettext("synced") in page
    store.alerts([AlertOp(True, AlertKind.NODE_OFFLINE, "semarang", "gudang-07", "", "x")])
    board = c.get("/fleet/board").text
    assert re.search(r'class="node state-offline[^"]*"[^>]*data-state="offline"', board), board
    assert "node_offline" in board
    assert c.get("/api/nodes").json()[0]["state"] == "offline"
    c.close()


def test_ten_thousand_alerts_page_by_keyset(server: WebServer, store: ReceiverStore) -> None:
    """10,000 stored alerts of a fleet (through the store's commit, so with their
    incidents): the console's first page is the newest 50 incidents it shows and fast, the
    "older" link (before_seq) leads to the next 50 without overlap, and so on; the per-event
    JSON pages the same way down to the oldest event."""
    Fleet(store)
    fill(store, 10_000)
    c = _client(server, store)
    started = time.perf_counter()
    page = c.get("/alerts")
    first_ms = (time.perf_counter() - started) * 1000
    print(f"10,000 alerts: the console's first page served in {first_ms:.0f} ms")
    assert page.status_code == 200 and first_ms < 1000
    newest = [str(r[0]) for r in store.db.query(
        "SELECT incident FROM incidents WHERE sev_rank >= 1 AND kinds <> 'motion'"
        " ORDER BY last_seq DESC LIMIT 150")]  # fmt: skip
    seen: list[str] = []
    url: str | None = "/alerts"
    pages = 0
    while url and pages < 3:
        text = c.get(url).text
        ids = re.findall(r'<tbody class="incident[^>]*data-incident="([^"]+)"', text)
        assert len(ids) == 50 and not set(ids) & set(seen)
        seen += ids
        more = re.search(r'href="(/alerts\?before_seq=\d+)" id="older"', text)
        url = more[1].replace("&amp;", "&") if more else None
        pages += 1
    assert seen == newest
    oldest = [str(r[0]) for r in store.db.query("SELECT id FROM events ORDER BY seq LIMIT 50")]
    last = c.get("/api/alerts?before_seq=51&limit=500").json()
    assert [r["id"] for r in last] == oldest[::-1]
    c.close()


def test_user_add_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``user add NAME --role R`` with the password on stdin: stored as scrypt, never in
    clear; a second add of the name fails unless --replace; ``user list`` shows roles."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "rx"\ndata_dir = "{tmp_path / "rx"}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert main(["receive", "-c", str(conf), "user", "add", "dewi", "--role", "officer"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert main(["receive", "-c", str(conf), "user", "add", "dewi", "--role", "admin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["receive", "-c", str(conf), "user", "add", "eka", "--role", "viewer"]) == 1
    assert main(["receive", "-c", str(conf), "user", "list"]) == 0
    out = capsys.readouterr()
    assert "user dewi (officer) added" in out.out and "dewi\tofficer" in out.out
    assert "exists" in out.err and "at least 8" in out.err
    store = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    try:
        stored = store.db.query("SELECT password FROM users WHERE name = 'dewi'")[0][0]
    finally:
        store.close()
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored


def test_with_a_certificate_it_serves_https_with_secure_cookies(
    tmp_path: Path, store: ReceiverStore, ca: DemoCA
) -> None:
    """[http] tls_cert and tls_key: HTTPS only, and the login cookie is Secure."""
    pair = ca.issue("dashboard-test", server=True)
    cfg = web_config(tmp_path / "rx", http=f'tls_cert = "{pair.cert}"\ntls_key = "{pair.key}"')
    web = WebServer(cfg, store, "127.0.0.1:0")
    web.start()
    try:
        assert web.url.startswith("https://")
        r = httpx.get(f"{web.url}/login", verify=ssl.create_default_context(cafile=str(ca.ca_path)))
        assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{web.port}/login", timeout=5)
    finally:
        web.stop()
