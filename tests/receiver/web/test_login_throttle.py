"""Logins throttled by source address first: 40 wrong passwords at once (against the real
dashboard server, and over four store connections) check exactly ``max_failures`` of them;
an address that fails is locked with the time it ends in WIB on the login page, and does
not lock the admin out from another address; an account locks for everyone only after
wrong passwords from several addresses, and ``edge receive user unlock`` clears it and the
address locks of its wrong passwords. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from dash import PASSWORD, add_user, csrf_of
from starlette.testclient import TestClient

from edge.cli.main import main
from edge.core.displaytime import DisplayZone
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.app import create_app
from edge.receiver.web.server import WebServer
from edge.receiver.web.users import Users

LIMIT = 5
WRONG = "not the password"


@dataclass
class Rx:
    """A receiver's config file, config and store, with the admin ``root``."""

    conf: Path
    cfg: ReceiverConfig
    store: ReceiverStore

    def details(self) -> list[str]:
        """The ``logins`` table's outcomes, oldest first."""
        return [str(r[0]) for r in self.store.db.query("SELECT detail FROM logins ORDER BY seq")]


@pytest.fixture(params=["sqlite", "postgresql"])
def rx(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rx]:
    """A store on each engine, ``max_failures = 5``, ``lockout_s = 900``."""
    url = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{tmp_path / "rx"}"\nstore = "{url}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
        f"[http]\nmax_failures = {LIMIT}\nlockout_s = 900\n"
    )
    cfg = loads(conf.read_text())
    store = ReceiverStore(cfg.store_url, cfg.data_dir)
    add_user(store, "root", "admin")
    try:
        yield Rx(conf, cfg, store)
    finally:
        store.close()


@contextmanager
def browser(rx: Rx, address: str) -> Iterator[TestClient]:
    """A test client on the dashboard that comes from *address*."""
    with TestClient(create_app(rx.cfg, rx.store), client=(address, 40000)) as c:
        yield c


def try_login(c: TestClient, password: str, name: str = "root") -> Any:
    """One try through the login form."""
    token = csrf_of(c.get("/login").text)
    data = {"username": name, "password": password, "csrf": token}
    return c.post("/login", data=data, follow_redirects=False)


def test_forty_parallel_wrong_passwords_against_the_server_check_exactly_the_limit(
    rx: Rx,
) -> None:
    """40 clients post a wrong password at the same moment to the real server: exactly 5
    passwords are checked ("wrong password"), 35 are refused unchecked, and the page names
    until when."""
    server = WebServer(rx.cfg, rx.store, "127.0.0.1:0")
    server.start()
    start = threading.Barrier(40)
    statuses: list[int] = []

    def one() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            token = csrf_of(c.get("/login").text)
            start.wait()
            r = c.post("/login", data={"username": "root", "password": WRONG, "csrf": token})
            statuses.append(r.status_code)

    try:
        threads = [threading.Thread(target=one) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.stop()
    assert statuses == [401] * 40
    details = rx.details()
    assert sum(d.startswith("wrong password") for d in details) == LIMIT, details
    assert details.count("address locked") == 40 - LIMIT


def test_forty_parallel_wrong_passwords_over_four_connections_check_exactly_the_limit(
    rx: Rx,
) -> None:
    """The same through four store connections (four dashboards on one database), ten
    threads each: the slot is taken in the database, so still exactly 5 checks."""
    stores = [ReceiverStore(rx.cfg.store_url, rx.cfg.data_dir) for _ in range(4)]
    users = [Users(s.db, max_failures=LIMIT, lockout_s=900) for s in stores]
    start = threading.Barrier(40)
    results: list[str] = []

    def one(u: Users) -> None:
        start.wait()
        results.append(u.login("root", WRONG, "203.0.113.9").reason)

    try:
        threads = [threading.Thread(target=one, args=(users[n % 4],)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for s in stores:
            s.close()
    assert sorted(results) == ["locked"] * (40 - LIMIT) + ["wrong password"] * LIMIT


def test_a_failing_address_does_not_lock_out_another(rx: Rx) -> None:
    """20 wrong passwords for the admin from one address lock that address (even the right
    password is refused there, with until when in WIB), not the admin: from another
    address the admin logs in."""
    with browser(rx, "203.0.113.66") as attacker:
        for _ in range(20):
            assert try_login(attacker, WRONG).status_code == 401
        refused = try_login(attacker, PASSWORD)
        assert refused.status_code == 401
        start = rx.store.db.query("SELECT window_start FROM login_addresses")[0][0]
        until = DisplayZone().clock(float(start) + 900)
        assert re.fullmatch(r"(\d\d-\d\d-\d{4} )?\d\d:\d\d WIB", until)
        text = html.unescape(refused.text)
        assert f"dari alamat ini. Terkunci sampai {until}." in text
    with browser(rx, "198.51.100.7") as admin:
        assert try_login(admin, PASSWORD).status_code == 303
        page = admin.get("/admin").text
        assert "<tr><td>203.0.113.66</td><td>5</td>" in page  # the locked addresses
    assert rx.store.db.query("SELECT locked_until FROM users")[0][0] is None
    assert rx.details().count("ok") == 1


def test_an_account_locks_only_from_several_addresses_and_unlock_clears_it(
    rx: Rx, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong passwords from three addresses (5 in all) lock the account for everyone, a
    fourth address included ("Akun terkunci sampai ..."); ``user list`` shows the lock;
    ``user unlock root`` clears it and the locks of those addresses, after which both
    the fourth and a formerly locked address log in; an unknown name exits 1."""
    for address, tries in (("10.0.0.1", LIMIT), ("10.0.0.2", 2), ("10.0.0.3", 1)):
        with browser(rx, address) as c:
            for _ in range(tries):
                try_login(c, WRONG)
    with browser(rx, "10.0.0.4") as c:
        refused = try_login(c, PASSWORD)
    assert refused.status_code == 401 and "Akun terkunci sampai" in refused.text
    assert rx.details()[-1] == "account locked"
    assert main(["receive", "-c", str(rx.conf), "user", "list"]) == 0
    assert re.search(r"root\tadmin  locked until (\S+ )?\d\d:\d\d WIB", capsys.readouterr().out)
    assert main(["receive", "-c", str(rx.conf), "user", "unlock", "root"]) == 0
    assert capsys.readouterr().out == "user root unlocked (3 address locks cleared)\n"
    for address in ("10.0.0.4", "10.0.0.1"):
        with browser(rx, address) as c:
            assert try_login(c, PASSWORD).status_code == 303, address
    assert main(["receive", "-c", str(rx.conf), "user", "unlock", "nobody"]) == 1
    assert capsys.readouterr().err == "no user 'nobody'\n"


def test_one_address_alone_never_locks_the_account(rx: Rx) -> None:
    """However many wrong passwords one address sends (it is locked after 5), the account
    is not: the admin's right password from elsewhere is checked and accepted."""
    users = Users(rx.store.db, max_failures=LIMIT, lockout_s=900)
    for _ in range(3 * LIMIT):
        users.login("root", WRONG, "192.0.2.50")
    assert users.login("root", PASSWORD, "192.0.2.51").user == "root"
    assert users.login("root", PASSWORD, "192.0.2.50").reason == "locked"
