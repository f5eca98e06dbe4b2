"""The dashboard's gate, tried with a test client (no browser): nothing without a session,
viewers cannot acknowledge, no cross-site POST, wrong passwords lock the account, and no
route serves a file from outside the data directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from dash import (
    PASSWORD,
    Fleet,
    add_user,
    client_for,
    csrf_of,
    jpeg,
    login,
    sqlite_store,  # noqa: F401 (the store fixture)
    web_config,
)
from starlette.routing import Route

from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.app import create_app


@pytest.fixture
def fleet(store: ReceiverStore) -> Fleet:
    """One enrolled node with a person event that has a snapshot."""
    f = Fleet(store)
    f.ids["event_id"] = f.event(snapshot_id=f.snapshot(jpeg()))
    return f


def _routes(tmp_path: Path, store: ReceiverStore) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, path parameters filled in."""
    app = create_app(web_config(tmp_path / "rx"), store)
    out: list[tuple[str, str]] = []
    for r in app.routes:
        if not isinstance(r, Route) or r.methods is None:
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: {"kind": "clip"}.get(m[1], "x" * 4), r.path)
        out.extend((m, path) for m in sorted(r.methods) if m != "HEAD")
    return out


def test_every_route_without_a_session_redirects_or_answers_401(
    tmp_path: Path, store: ReceiverStore, fleet: Fleet
) -> None:
    """Every page (GET) redirects to the login, every API, media and POST route answers
    401; only /login and /static are open."""
    routes = _routes(tmp_path, store)
    assert len(routes) >= 12, routes
    with client_for(web_config(tmp_path / "rx"), store) as c:
        for method, path in routes:
            r = c.request(method, path, follow_redirects=False)
            if path == "/login":
                assert r.status_code in (200, 403), (method, path, r.status_code)
                continue
            if method == "GET" and not path.startswith(("/api/", "/media/")):
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/login?next="), r.headers
            else:
                assert r.status_code == 401, (method, path, r.status_code)
        assert c.get("/static/app.css").status_code == 200
        assert c.get(fleet.url(fleet.ids["event_id"]), follow_redirects=False).status_code == 303
        r = c.get("/api/alerts")
        assert r.status_code == 401 and fleet.ids["event_id"] not in r.text


def test_pages_carry_security_headers_and_cookies_are_httponly_strict(
    tmp_path: Path, store: ReceiverStore
) -> None:
    """The session cookie is HttpOnly and SameSite=Strict (Secure under TLS); answers
    forbid framing and foreign scripts."""
    add_user(store, "ani", "viewer")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        r = login(c, "ani")
        assert r.status_code == 303 and r.headers["location"] == "/alerts"
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie"
                      and v.startswith("edge_session="))  # fmt: skip
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        page = c.get("/alerts")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    cfg = web_config(tmp_path / "rx", http='tls_cert = "/c.pem"\ntls_key = "/k.pem"')
    with client_for(cfg, store) as c:
        r = login(c, "ani")
        assert any("Secure" in v for k, v in r.headers.multi_items() if k == "set-cookie")


def test_a_viewer_cannot_acknowledge(tmp_path: Path, store: ReceiverStore, fleet: Fleet) -> None:
    """A viewer sees the alert, has no form, and a POST with its valid token is 403."""
    add_user(store, "ani", "viewer")
    event_id = fleet.ids["event_id"]
    with client_for(web_config(tmp_path / "rx"), store) as c:
        login(c, "ani")
        page = c.get(fleet.url(event_id))
        assert page.status_code == 200 and 'id="acknowledge"' not in page.text
        r = c.post(fleet.url(event_id, "ack"), data={"csrf": csrf_of(page.text), "note": "x"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 403
    assert store.db.query("SELECT COUNT(*) FROM acks")[0][0] == 0


def test_cross_site_posts_are_refused(tmp_path: Path, store: ReceiverStore, fleet: Fleet) -> None:
    """An officer's browser posting without the token, with a wrong one, or from a foreign
    Origin (even with the right token) acknowledges nothing and does not log out; a login
    post without the login form's token is refused too."""
    add_user(store, "budi", "officer")
    event_id = fleet.ids["event_id"]
    url = fleet.url(event_id, "ack")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        login(c, "budi")
        token = csrf_of(c.get(fleet.url(event_id)).text)
        assert c.post(url, data={"note": "x"}, follow_redirects=False).status_code == 403
        assert c.post(url, data={"csrf": "forged", "note": "x"}).status_code == 403
        evil = {"origin": "https://evil.example"}
        r = c.post(url, data={"csrf": token, "note": "x"}, headers=evil)
        assert r.status_code == 403
        r = c.post(url, data={"csrf": token}, headers={"referer": "https://evil.example/x"})
        assert r.status_code == 403
        assert c.post("/logout", data={"csrf": token}, headers=evil).status_code == 403
        assert c.post("/logout", data={}).status_code == 403
        assert store.db.query("SELECT COUNT(*) FROM acks")[0][0] == 0
        assert c.get("/alerts", follow_redirects=False).status_code == 200  # still logged in
        r = c.post(url, data={"csrf": token, "note": "seen"}, headers={"origin": "http://testserver"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        assert store.db.query("SELECT username FROM acks")[0][0] == "budi"
    with client_for(web_config(tmp_path / "rx"), store) as c:
        r = c.post("/login", data={"username": "budi", "password": PASSWORD})
        assert r.status_code == 403


def test_wrong_passwords_lock_the_address(tmp_path: Path, store: ReceiverStore) -> None:
    """Five wrong passwords from one address lock that address (tests/receiver/web/
    test_login_throttle.py: not the account for others): the right one is refused while it
    is locked, accepted once the lock has run out; every attempt is stored."""
    add_user(store, "citra", "officer")
    cfg = web_config(tmp_path / "rx", http="max_failures = 5\nlockout_s = 900")
    with client_for(cfg, store) as c:
        for _ in range(4):
            assert login(c, "citra", "wrong password!").status_code == 401
        r = login(c, "citra", "wrong password!")
        assert r.status_code == 401 and "Terkunci sampai" in r.text
        r = login(c, "citra")
        assert r.status_code == 401 and "Terkunci sampai" in r.text
        assert c.get("/alerts", follow_redirects=False).status_code == 303
        assert store.db.query("SELECT locked_until FROM users WHERE name = 'citra'")[0][0] is None
        store.db.query("UPDATE login_addresses SET window_start = 1 RETURNING 1")  # run out
        assert login(c, "citra").status_code == 303
        assert login(c, "nobody").status_code == 401
    rows = store.db.query("SELECT username, ok, detail FROM logins ORDER BY seq")
    expected = ["wrong password"] * 4 + ["wrong password; address locked", "address locked",
                                         "ok", "unknown user"]  # fmt: skip
    assert [r[2] for r in rows] == expected
    assert [r[1] for r in rows].count(1) == 1


def test_no_route_serves_files_outside_the_data_directory(
    tmp_path: Path, store: ReceiverStore, fleet: Fleet
) -> None:
    """../, encoded %2e%2e and %2f, absolute paths and names that are not hashes are 404;
    a stored record pointing outside the data directory, directly or through a symlink
    inside it, is 404 too; the real snapshot is served."""
    add_user(store, "ani", "viewer")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    sha = store.db.query("SELECT sha256 FROM snapshots")[0][0]
    with client_for(web_config(tmp_path / "rx"), store) as c:
        login(c, "ani")
        ok = c.get(fleet.media("snapshot", sha))
        assert ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg"
        tries = [
            "/media/snapshot/../../secret.txt", "/media/clip/..%2f..%2fsecret.txt",
            "/media/clip/%2e%2e/%2e%2e/secret.txt", f"/media/snapshot/{secret}",
            f"/media/snapshot/%2F{str(secret)[1:]}", "/media/clip/%2e%2e%2freceiver.db",
            "/media/snapshot/../receiver.db", "/media/x/" + "a" * 64 + ".jpg",
            "/static/../receiver.db", "/static/%2e%2e/%2e%2e/secret.txt",
            "/static/..%2f..%2fsecret.txt", f"/static/{secret}",
        ]  # fmt: skip
        for path in tries:
            r = c.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "do not serve" not in r.text and "SQLite" not in r.text
        # a record pointing outside, and one through a symlink that leads out
        link = store.files.objects / "ab" / ("ab" + "0" * 62 + ".jpg")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(secret, link)
        for fake, path in (("1" * 64, str(secret)), ("ab" + "0" * 62, str(link))):
            store.db.query("INSERT INTO snapshots (site, node, id, sha256, path, received)"
                           " VALUES ('semarang', 'gudang-07', ?, ?, ?, 0) RETURNING 1",
                           (fake[:8], fake, path))  # fmt: skip
            r = c.get(fleet.media("snapshot", fake))
            assert r.status_code == 404 and "do not serve" not in r.text


def test_logout_ends_the_session_and_only_admins_see_users_and_logins(
    tmp_path: Path, store: ReceiverStore
) -> None:
    """An officer gets 403 on /admin, an admin sees users, logins and the audit check;
    after logging out, the old cookie opens nothing."""
    add_user(store, "budi", "officer")
    add_user(store, "root", "admin")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        login(c, "budi")
        assert c.get("/admin").status_code == 403
        token = csrf_of(c.get("/alerts").text)
        cookie = c.cookies["edge_session"]
        r = c.post("/logout", data={"csrf": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert store.db.query("SELECT COUNT(*) FROM sessions")[0][0] == 0
        c.cookies.set("edge_session", cookie)
        assert c.get("/alerts", follow_redirects=False).status_code == 303
        assert c.get("/api/alerts").status_code == 401
        c.cookies.clear()  # the old cookie beside a new one would be sent first
        login(c, "root")
        page = c.get("/admin").text
        assert "budi" in page and "officer" in page and "ok: 0 catatan" in page
