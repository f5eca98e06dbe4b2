"""Wall-monitor mode, server side: the sliding session (a login's window, renewals by the
open page, the idle limit, the absolute cap, logout), ``/api/session`` and its renewal, on
both store engines with a clock the test moves; and the live stream served for real: its
``session`` events before the end, its end with the session, and its catch-up after a
reconnect and after the dashboard restarts (``Last-Event-ID``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dash import PASSWORD, Fleet, add_user, client_for, csrf_of, login, web_config
from starlette.testclient import TestClient
from timing import FakeClock

from edge.config.loader import ConfigError
from edge.receiver.config import ReceiverConfig
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.app import create_app
from edge.receiver.web.context import Dashboard
from edge.receiver.web.server import WebServer

LIFETIME, IDLE, CAP = 600, 300, 3600
HTTP = f"session_lifetime_s = {LIFETIME}\nidle_limit_s = {IDLE}\nsession_max_s = {CAP}"
T0 = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine, with an officer."""
    url = f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    s = ReceiverStore(url, tmp_path / "rx")
    add_user(s, "budi", "officer")
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    """The sessions' clock (UNIX seconds), moved by hand."""
    return FakeClock(T0)


def _config(tmp_path: Path) -> ReceiverConfig:
    return web_config(tmp_path / "rx", http=HTTP)


def _dashboard(app: Any) -> Dashboard:
    d = app.state.dashboard
    assert isinstance(d, Dashboard)
    return d


@pytest.fixture
def client(tmp_path: Path, store: ReceiverStore, clock: FakeClock) -> Iterator[TestClient]:
    """A test client logged in as budi at T0 on the sessions' clock."""
    cfg = _config(tmp_path)
    with client_for(cfg, store) as c:
        _dashboard(c.app).sessions.clock = clock
        assert login(c, "budi").status_code == 303
        yield c


def _csrf(c: TestClient) -> str:
    r = c.get("/api/session")
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _renew(c: TestClient, csrf: str | None = None) -> Any:
    return c.post("/api/session/renew", headers={"x-csrf-token": csrf or _csrf(c)})


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_login_gets_its_window_and_the_session_says_when_it_ends(
    client: TestClient, clock: FakeClock
) -> None:
    """GET /api/session: user, role, the end (the login's window), the idle end, the cap,
    the receiver's clock, and how often the page renews and how early it warns."""
    info = client.get("/api/session").json()
    assert info["user"] == "budi" and info["role"] == "officer"
    assert info["expires"] == T0 + LIFETIME and info["left_s"] == LIFETIME
    assert info["idle_expires"] == T0 + IDLE and info["max_expires"] == T0 + CAP
    assert info["now"] == T0 and info["renew_s"] == 50 and info["warn_s"] == 100
    clock.advance(LIFETIME - 1)
    assert client.get("/api/session").status_code == 200
    clock.advance(2)
    assert client.get("/api/session").status_code == 401
    assert client.get("/alerts", follow_redirects=False).status_code == 303


def test_renewals_slide_the_end_and_never_move_it_back(
    client: TestClient, clock: FakeClock
) -> None:
    """A renewal inside the login's window leaves the end; near it, moves it to idle_limit_s
    past the renewal; a page that keeps renewing keeps the session far past the window."""
    csrf = _csrf(client)
    clock.advance(100)
    r = _renew(client, csrf)
    assert r.status_code == 200 and r.json()["expires"] == T0 + LIFETIME
    assert "edge_session" in r.headers["set-cookie"]
    for _ in range(10):  # 2,500 s of renewals every 250 s: far past the 600 s window
        clock.advance(250)
        r = _renew(client, csrf)
        assert r.status_code == 200, r.text
        assert r.json()["expires"] == clock.now + IDLE
        assert r.json()["idle_expires"] == clock.now + IDLE
    assert clock.now == T0 + 2600
    assert client.get("/alerts").status_code == 200


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # the SQL: both engines above
def test_without_renewals_the_idle_limit_ends_it(client: TestClient, clock: FakeClock) -> None:
    """Renewed at 550 s (end: 850 s), then nothing: alive at 849 s, gone at 851 s, and a
    renewal after that is refused (401) and revives nothing."""
    csrf = _csrf(client)
    clock.advance(550)
    assert _renew(client, csrf).json()["expires"] == T0 + 850
    clock.advance(299)
    assert client.get("/api/session").status_code == 200
    clock.advance(2)
    assert _renew(client, csrf).status_code == 401
    assert client.get("/api/session").status_code == 401
    clock.advance(IDLE)
    assert _renew(client, csrf).status_code == 401


def test_the_absolute_cap_ends_it_however_often_it_is_renewed(
    client: TestClient, clock: FakeClock
) -> None:
    """Renewed every 200 s, the end stops at login + session_max_s, the page sees the cap
    reached (expires == max_expires), and at the cap the session is gone."""
    csrf = _csrf(client)
    ends = []
    while clock.now + 200 < T0 + CAP:
        clock.advance(200)
        r = _renew(client, csrf)
        assert r.status_code == 200, (clock.now - T0, r.text)
        ends.append(r.json()["expires"])
    assert max(ends) == T0 + CAP and r.json()["max_expires"] == T0 + CAP
    assert ends == sorted(ends)
    clock.now = T0 + CAP - 0.5
    assert client.get("/api/session").json()["left_s"] == 0.5
    clock.now = T0 + CAP
    assert _renew(client, csrf).status_code == 401
    assert client.get("/api/session").status_code == 401


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # the SQL: both engines above
def test_logout_ends_it_at_once_and_a_renewal_after_it_is_refused(
    client: TestClient, clock: FakeClock
) -> None:
    """Logging out ends the session; the renewal with its old token answers 401, and the
    session stays gone."""
    page = client.get("/alerts")
    csrf = csrf_of(page.text)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/session").status_code == 401
    assert _renew(client, csrf).status_code == 401
    assert client.get("/alerts", follow_redirects=False).status_code == 303


def test_a_logged_out_token_is_never_renewed_by_the_store(
    tmp_path: Path, store: ReceiverStore, clock: FakeClock
) -> None:
    """The store's renewal updates only a live row: a deleted or lapsed token stays dead."""
    sessions = _dashboard(create_app(_config(tmp_path), store)).sessions
    sessions.clock = clock
    token = sessions.create("budi")
    sessions.delete(token)
    assert sessions.renew(token) is None and sessions.get(token) is None
    token = sessions.create("budi")
    clock.advance(LIFETIME + 1)
    assert sessions.renew(token) is None
    clock.now = T0
    assert sessions.renew("no such token") is None and sessions.renew(None) is None


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_renewal_needs_the_sessions_csrf_token_and_this_site(client: TestClient) -> None:
    """No token or a wrong one: 403; another site's Origin: 403 whatever it carries."""
    assert client.post("/api/session/renew").status_code == 403
    assert _renew(client, "x" * 43).status_code == 403
    foreign = {"x-csrf-token": _csrf(client), "origin": "https://evil.example"}
    assert client.post("/api/session/renew", headers=foreign).status_code == 403
    assert _renew(client).status_code == 200


def test_the_config_bounds_and_the_cap_against_the_window(tmp_path: Path) -> None:
    """idle_limit_s and session_max_s are bounded; an explicit cap shorter than the window
    is an error naming both; left at its default, the cap yields to a longer window."""
    with pytest.raises(ConfigError, match="idle_limit_s"):
        web_config(tmp_path, http="idle_limit_s = 10")
    with pytest.raises(ConfigError, match="session_max_s"):
        web_config(tmp_path, http="session_max_s = 60")
    with pytest.raises(ConfigError, match=r"session_max_s \(7200\) must be at least"):
        web_config(tmp_path, http="session_lifetime_s = 10000\nsession_max_s = 7200")
    h = web_config(tmp_path, http=f"session_lifetime_s = {20 * 86400}").http
    assert h.session_cap_s == 20 * 86400
    assert web_config(tmp_path).http.session_cap_s == 7 * 86400


# --- the stream, served for real (SQLite) --------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[WebServer, ReceiverStore]]:
    """The dashboard on a real port, on a SQLite store with budi, the sessions on *clock*."""
    store = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    add_user(store, "budi", "officer")
    web = WebServer(_config(tmp_path), store, "127.0.0.1:0")
    _dashboard(web.app).sessions.clock = clock
    web.start()
    yield web, store
    web.stop()
    store.close()


def _browser(web: WebServer) -> httpx.Client:
    c = httpx.Client(base_url=web.url, timeout=10)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "budi", "password": PASSWORD, "csrf": token})
    assert r.status_code == 303, r.text[:300]
    return c


def _events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """The stream's events as {field: value} (comments skipped)."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def _next(events: Iterator[dict[str, str]], kind: str) -> dict[str, str]:
    for e in events:
        if e.get("event") == kind:
            return e
    raise AssertionError(f"the stream ended before a {kind!r} event")


def test_the_stream_warns_before_the_end_and_ends_with_the_session(
    served: tuple[WebServer, ReceiverStore], clock: FakeClock
) -> None:
    """Inside the warning time the stream says ``session: ending`` with the end; a renewal
    elsewhere turns it back to ``ok``; past the end it says ``gone`` and ends."""
    web, _ = served
    c = _browser(web)
    csrf = c.get("/api/session").json()["csrf"]
    with c.stream("GET", "/api/stream") as stream:
        events = _events(stream.iter_lines())
        assert "retry" in next(events)
        clock.advance(LIFETIME - 60)
        ending = json.loads(_next(events, "session")["data"])
        assert ending == {"state": "ending", "expires": T0 + LIFETIME, "left_s": 60.0}
        other = httpx.Client(base_url=web.url, cookies=c.cookies, timeout=10)
        r = other.post("/api/session/renew", headers={"x-csrf-token": csrf})
        assert r.status_code == 200 and r.json()["expires"] == clock.now + IDLE
        assert json.loads(_next(events, "session")["data"])["state"] == "ok"  # within RECHECK_S
        clock.advance(IDLE + 1)
        assert json.loads(_next(events, "session")["data"]) == {"state": "gone"}
        assert list(events) == []  # and the stream ends
    assert c.get("/api/stream").status_code == 401
    c.close()
    other.close()


def test_the_stream_catches_up_after_a_reconnect_and_a_restart(
    served: tuple[WebServer, ReceiverStore], tmp_path: Path, clock: FakeClock
) -> None:
    """Each ``alerts`` event carries its seq as the id; a reconnect with ``Last-Event-ID``
    (what the browser sends) hears at once of what was committed meanwhile, also from a
    restarted dashboard on the same store, where the session still holds; ``after`` past the
    store's newest starts from the newest."""
    web, store = served
    fleet = Fleet(store)
    fleet.event("door_open")
    c = _browser(web)
    with c.stream("GET", "/api/stream?after=0") as stream:
        first = _next(_events(stream.iter_lines()), "alerts")
    assert first["id"] == first["data"] == "1"
    web.stop()
    fleet.event("person")
    fleet.event("person")
    again = WebServer(_config(tmp_path), store, "127.0.0.1:0")
    _dashboard(again.app).sessions.clock = clock
    again.start()
    try:
        moved = httpx.Client(base_url=again.url, cookies=c.cookies, timeout=10)
        with moved.stream("GET", "/api/stream", headers={"last-event-id": first["id"]}) as s:
            caught = _next(_events(s.iter_lines()), "alerts")
        assert caught["id"] == caught["data"] == "3"
        with moved.stream("GET", "/api/stream?after=99") as s:
            events = _events(s.iter_lines())
            assert next(events) == {"retry": "1000", "id": "3"}
            fleet.event("person")
            assert _next(events, "alerts")["data"] == "4"
        assert moved.get("/api/stream?after=x").status_code == 400
        moved.close()
    finally:
        again.stop()
    c.close()
