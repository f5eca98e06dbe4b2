"""The ``auditor`` role (issue 26): it sees the access log and the reports and nothing of the
shared material: the console, event details, incidents, clips, snapshots, evidence and the
console's API answer an auditor 403 with a page (or, for the API, a line) saying why, and
serve no byte of the material; no other role but an admin sees the auditor's pages. On
SQLite and PostgreSQL, with a real committed incident (clip, snapshot, events)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from casefile import CLIP, INCIDENT, make_case, store_url
from dash import add_user, client_for, csrf_of, login, web_config

from edge.cli.main import main
from edge.config.loader import ConfigError
from edge.receiver.config import loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.users import Role, Users


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine."""
    s = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    yield s
    s.close()


def test_the_auditors_role_includes_only_itself_and_an_admins_includes_it() -> None:
    """viewer < officer < admin as before; auditor is apart: it includes no console role and
    no console role includes it, except admin."""
    assert Role.ADMIN.may(Role.OFFICER) and Role.OFFICER.may(Role.VIEWER)
    assert not Role.VIEWER.may(Role.OFFICER)
    assert Role.AUDITOR.may(Role.AUDITOR) and Role.ADMIN.may(Role.AUDITOR)
    for role in (Role.VIEWER, Role.OFFICER, Role.ADMIN):
        assert not Role.AUDITOR.may(role), role
    for role in (Role.VIEWER, Role.OFFICER):
        assert not role.may(Role.AUDITOR), role


def _refused(r: object, why: str) -> str:
    """The 403 page's text (asserting it is the page for *why*)."""
    assert getattr(r, "status_code", None) == 403, getattr(r, "text", "")[:300]
    page = str(getattr(r, "text", ""))
    assert 'id="forbidden"' in page and f'data-why="{why}"' in page, page[:500]
    return page


def test_an_auditor_sees_no_shared_material_and_is_told_why(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """Logged in, an auditor lands on the access log (not the console); every page of shared
    material (console, its rows, the fleet, an alert's detail, the incident, the evidence
    zip, the clip with a Range request, the snapshot) is a 403 page in Bahasa Indonesia
    saying what the role may see, with links to the access log and the reports; the API
    answers a 403 line; an acknowledgement is refused; no byte of the clip is in any answer
    and no access is recorded. Logging out and the language work."""
    case = make_case(store, tmp_path)
    f = case.fleet
    add_user(store, "audra", "auditor")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        first = login(c, "audra")
        assert first.status_code == 303 and first.headers["location"] == "/audit/access"
        home = c.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/audit/access"
        clip = store.db.query("SELECT sha256 FROM clips")[0][0]
        snap = store.db.query("SELECT sha256 FROM snapshots")[0][0]
        pages = ["/alerts", "/alerts/rows", "/fleet", "/fleet/board", "/admin",
                 f.url(case.ids["person"]), f.url(case.ids["person"], "evidence"),
                 f"/incidents/{f.node.site}/{INCIDENT}", f.media("clip", clip),
                 f.media("snapshot", snap)]  # fmt: skip
        for path in pages:
            r = c.get(path, headers={"range": "bytes=0-1023"})
            page = _refused(r, "auditor")
            assert CLIP[:64] not in r.content, path
            assert "Auditor" in page and 'href="/audit/access"' in page, path
            assert r.headers["content-language"] == "id", path
            assert "rekaman" in page, path  # the reason, in the receiver's default language
        for path in ("/api/console/state", "/api/alerts", "/api/nodes", "/api/stream"):
            r = c.get(path)
            assert r.status_code == 403 and "access log" in r.text, (path, r.text)
        page = c.get("/fleet").text
        ack = c.post("/incidents/ack", data={"csrf": csrf_of(page), "site": f.node.site,
                                             "incident": INCIDENT})  # fmt: skip
        _refused(ack, "auditor")
        assert store.db.query("SELECT COUNT(*) FROM acks")[0][0] == 0
        assert store.db.query("SELECT COUNT(*) FROM access_log")[0][0] == 0
        back = c.post("/lang", data={"lang": "en", "csrf": csrf_of(page), "next": "/alerts"},
                      follow_redirects=False)  # fmt: skip
        assert back.status_code == 303
        assert "clips" in _refused(c.get("/alerts"), "auditor")  # now in English
        out = c.post("/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert c.get("/alerts", follow_redirects=False).status_code == 303  # to the login


@pytest.mark.parametrize("role", ["viewer", "officer"])
def test_other_roles_are_refused_the_auditors_pages(
    store: ReceiverStore, tmp_path: Path, role: str
) -> None:
    """A viewer or an officer asking for the access log, the reports, an export or a
    download gets the 403 page saying these are for auditors and administrators; the nav
    offers them no link; an admin's nav does."""
    add_user(store, "budi", role)
    add_user(store, "ani", "admin")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "budi").status_code == 303
        page = c.get("/fleet").text
        assert 'href="/audit/access"' not in page
        for path in ("/audit/access", "/audit/reports", "/audit/reports/download/export/x"):
            _refused(c.get(path), "audit")
        _refused(c.post("/audit/reports/export", data={"csrf": csrf_of(page)}), "audit")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "ani").status_code == 303
        page = c.get("/fleet").text
        assert 'href="/audit/access"' in page and 'href="/audit/reports"' in page


def test_user_add_makes_an_auditor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``edge receive user add NAME --role auditor`` stores the role; ``user list`` shows
    it."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{tmp_path / "rx"}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["receive", "-c", str(conf), "user", "add", "dewi", "--role", "auditor"]) == 0
    s = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    try:
        assert Users(s.db).role_of("dewi") is Role.AUDITOR
    finally:
        s.close()


def test_the_documented_transparency_settings_load() -> None:
    """docs/dashboard.md's ``[transparency]`` block is a valid receiver config naming the two
    directories; without it they are DATA_DIR/reports and DATA_DIR/exports; a relative path
    is refused naming the key."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "dashboard.md").read_text()
    marker = "<!-- loaded as a receiver config by tests/receiver/web/test_auditor_role.py -->"
    text = doc.split(marker, 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    head = '[receiver]\nname = "polda-jateng"\ndata_dir = "/srv/rx"\n[broker]\nhost = "h"\n'
    head += "allow_insecure = true\n"
    t = loads(head + text).transparency
    assert t.reports(Path("/srv/rx")) == Path("/var/lib/warehouse-edge/reports")
    assert t.exports(Path("/srv/rx")) == Path("/var/lib/warehouse-edge/exports")
    bare = loads(head).transparency
    assert bare.reports(Path("/srv/rx")) == Path("/srv/rx/reports")
    assert bare.exports(Path("/srv/rx")) == Path("/srv/rx/exports")
    with pytest.raises(ConfigError, match="reports_dir"):
        loads(head + '[transparency]\nreports_dir = "reports"\n')
