"""Wall-monitor mode in a real browser (headless Chromium through Selenium) on the dashboard
served in-process: the open console renews its session; with its receiver gone the page
says NOT LIVE (banner and title) once the stream has been down past the grace, and the
banner goes when the stream is back; before the session's end the warning counts down and
"stay logged in" renews it; when the session is gone the page says so with a login link
that returns to the console; the fleet board goes NOT LIVE too. The whole officer's night
across a real receiver restart is H8's test (test_console_*); this one checks
static/wall.js and its hooks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from dash import PASSWORD, Fleet, add_user, web_config
from procs import chromium, free_port
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from edge.receiver.config import ReceiverConfig
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.context import Dashboard
from edge.receiver.web.server import WebServer

pytestmark = pytest.mark.slow

LIFETIME, IDLE = 600, 300
"""The page renews every 50 s (IDLE / 6) and warns 100 s (IDLE / 3) before the end."""
GRACE_S = 3.0
"""How long the stream may be down before NOT LIVE (wall.js)."""


class Skewed:
    """The sessions' clock: the real one plus an offset the test moves (the session's end
    comes without waiting for it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Dash:
    """The dashboard on a fixed port, stopped and started again like a receiver restart."""

    def __init__(self, cfg: ReceiverConfig, store: ReceiverStore, clock: Skewed) -> None:
        self.cfg, self.store, self.clock = cfg, store, clock
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web: WebServer | None = None

    def start(self) -> None:
        """Serve (the sessions on the test's clock)."""
        self.web = WebServer(self.cfg, self.store, f"127.0.0.1:{self.port}")
        d = self.web.app.state.dashboard
        assert isinstance(d, Dashboard)
        d.sessions.clock = self.clock
        self.web.start()

    def stop(self) -> None:
        """Stop serving (open streams end, new connections are refused)."""
        if self.web is not None:
            self.web.stop()
            self.web = None


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dash, WebDriver]]:
    """The dashboard (SQLite, one stored alarm, officer budi) and one browser."""
    tmp = tmp_path_factory.mktemp("wall")
    store = ReceiverStore(f"sqlite:///{tmp / 'rx' / 'receiver.db'}", tmp / "rx")
    add_user(store, "budi", "officer")
    Fleet(store).event("door_open")
    http = f"session_lifetime_s = {LIFETIME}\nidle_limit_s = {IDLE}\nsession_max_s = 7200"
    dash = Dash(web_config(tmp / "rx", http=http), store, Skewed())
    dash.start()
    try:
        with chromium((1200, 900)) as browser:
            yield dash, browser
    finally:
        dash.stop()
        store.close()


def _wall(browser: WebDriver) -> dict[str, Any]:
    value = browser.execute_script(
        "const w = window.edgeWall; return w ? {state: w.state, renewals: w.renewals,"
        " warned: w.warned, expires: w.expires} : null;"
    )
    assert value is not None, "the page has no window.edgeWall"
    return dict(value)


def _shown(browser: WebDriver, css: str) -> bool:
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return bool(found) and bool(found[0].is_displayed())


def _until(browser: WebDriver, timeout: float, what: str, condition: Any) -> None:
    WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda d: condition(), what)


def _login(browser: WebDriver, url: str) -> None:
    browser.find_element(By.ID, "username").send_keys("budi")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url == f"{url}/alerts")


def test_not_live_renewal_warning_and_the_end_of_the_session(
    rig: tuple[Dash, WebDriver],
) -> None:
    """Live and renewed; the receiver gone: NOT LIVE after the grace, not before; back:
    live again; near the end: the warning, gone after "stay logged in"; the session
    ended: NOT LIVE with a login link back to the console."""
    dash, browser = rig
    browser.get(f"{dash.url}/alerts")
    _login(browser, dash.url)
    _until(browser, 10, "live and renewed once", lambda: _wall(browser)["state"] == "live"
           and _wall(browser)["renewals"] >= 1)  # fmt: skip
    assert not _shown(browser, "#notlive") and not _shown(browser, "#session-warning")
    title = browser.title

    down = time.monotonic()  # before: the page may see the stream end while stop() waits
    dash.stop()
    _until(browser, 5, "the page sees the stream down", lambda: _wall(browser)["state"] == "down")
    assert not _shown(browser, "#notlive") or time.monotonic() - down >= GRACE_S - 0.5
    _until(browser, GRACE_S + 5, "NOT LIVE shown", lambda: _shown(browser, "#notlive"))
    print(f"wall: NOT LIVE {time.monotonic() - down:.1f} s after the receiver stopped")
    assert time.monotonic() - down >= GRACE_S - 0.5  # a blip does not flash the banner
    assert browser.title.startswith("TIDAK LIVE · ") and browser.title.endswith(title)
    assert not _shown(browser, "#notlive a.wall-login")  # the session is fine: no login link

    dash.start()
    _until(browser, 15, "live again", lambda: _wall(browser)["state"] == "live")
    _until(browser, 2, "the banner gone", lambda: not _shown(browser, "#notlive"))
    assert not browser.title.startswith("TIDAK LIVE")

    expires = float(_wall(browser)["expires"])
    dash.clock.offset = expires - time.time() - 60  # 60 s left: inside the 100 s warning
    _until(browser, 5, "the session warning", lambda: _shown(browser, "#session-warning"))
    left = browser.find_element(By.CSS_SELECTOR, "#session-warning .left").text
    minutes, _, seconds = left.partition(":")
    assert 20 <= int(minutes) * 60 + int(seconds) <= 60, left  # counting down from 60 s
    renewals = _wall(browser)["renewals"]
    browser.find_element(By.CSS_SELECTOR, "#session-warning button.renew").click()
    _until(browser, 5, "renewed by the button", lambda: _wall(browser)["renewals"] > renewals)
    _until(browser, 3, "the warning gone", lambda: not _shown(browser, "#session-warning"))
    assert float(_wall(browser)["expires"]) > expires

    dash.clock.offset += IDLE + 120  # nothing renewed it for longer than the idle limit
    _until(browser, 5, "the session gone", lambda: _wall(browser)["state"] == "gone")
    _until(
        browser, 2, "NOT LIVE with a login link", lambda: _shown(browser, "#notlive a.wall-login")
    )
    assert browser.title.startswith("TIDAK LIVE · ")
    link = browser.find_element(By.CSS_SELECTOR, "#notlive a.wall-login").get_attribute("href")
    assert link is not None and unquote(link).endswith("/login?next=/alerts"), link

    dash.clock.offset = 0.0
    browser.find_element(By.CSS_SELECTOR, "#notlive a.wall-login").click()
    _login(browser, dash.url)
    _until(browser, 10, "live after the new login", lambda: _wall(browser)["state"] == "live")
    assert not _shown(browser, "#notlive")

    browser.get(f"{dash.url}/fleet")  # the fleet board is a live page too (its refresh)
    _until(browser, 10, "the board live", lambda: _wall(browser)["state"] == "live")
    dash.stop()
    _until(browser, GRACE_S + 8, "NOT LIVE on the board", lambda: _shown(browser, "#notlive"))
    dash.start()
    _until(browser, 10, "the board live again", lambda: not _shown(browser, "#notlive"))
