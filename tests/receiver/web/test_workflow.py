"""The incident workflow through the console's routes, as two officers and a viewer use it:
the incident page's actions for each state (``_workflow.html``), bulk acknowledgement by
fetch (JSON) and by form (redirect back), assign, comment and close by form and by JSON,
each answer for a refusal clear (400/403/404/409 naming the incident and its state), the
old per-event ``/ack`` acknowledging the event's incident, two officers closing at once,
and ``edge receive audit verify`` and ``/admin`` checking the notes."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dash import Fleet, add_user, client_for, csrf_of, event_wire, login
from starlette.testclient import TestClient

from edge.cli.main import main
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.workflow import incident_url

JSON = {"accept": "application/json"}


@dataclass
class Console:
    """A store with a node, its config file, and clients logged in as officers budi and
    sari, viewer vina and admin root."""

    conf: Path
    cfg: ReceiverConfig
    store: ReceiverStore
    fleet: Fleet
    clients: dict[str, TestClient]

    def incidents(self, n: int) -> list[str]:
        """*n* new incidents (SITE/INCIDENT), one person event each, committed at once."""
        wires = [event_wire(self.fleet.node, "person") for _ in range(n)]
        self.fleet.commit([w for _, w in wires])
        return [self.ref_of(event_id) for event_id, _ in wires]

    def ref_of(self, event_id: str) -> str:
        """SITE/INCIDENT of one event."""
        rows = self.store.db.query(
            "SELECT site, incident FROM occurrences WHERE first_event = ?", (event_id,)
        )
        return f"{rows[0][0]}/{rows[0][1]}"

    def page(self, user: str, ref: str) -> str:
        """The incident's page as *user* sees it."""
        answer = self.clients[user].get(incident_url(*ref.split("/", 1)))
        assert answer.status_code == 200, answer.text
        return str(answer.text)

    def post(self, user: str, ref: str, action: str, **fields: Any) -> Any:
        """A form POST from the incident page (its CSRF token, the page as Referer)."""
        page = self.page(user, ref)
        url = incident_url(*ref.split("/", 1))
        data = {"csrf": csrf_of(page), **fields}
        return self.clients[user].post(f"{url}/{action}", data=data, follow_redirects=False,
                                       headers={"referer": f"http://testserver{url}"})  # fmt: skip

    def token(self, user: str) -> str:
        """*user*'s CSRF token (from the alert list's form)."""
        return csrf_of(self.clients[user].get("/alerts").text)

    def state(self, ref: str) -> tuple[Any, ...]:
        """(status, acked_by, assignee, closed_by, outcome, report_no) of the incident."""
        site, incident = ref.split("/", 1)
        return tuple(self.store.db.query(
            "SELECT status, acked_by, assignee, closed_by, outcome, report_no FROM incidents"
            " WHERE site = ? AND incident = ?", (site, incident))[0])  # fmt: skip

    def verify(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        """``edge receive -c CONF audit verify``: exit status and all it printed."""
        code = main(["receive", "-c", str(self.conf), "audit", "verify"])
        out = capsys.readouterr()
        return code, out.out + out.err


def _console(tmp_path: Path, store_url: str) -> Iterator[Console]:
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\n'
                    f'store = "{store_url}"\n[broker]\nhost = "localhost"\n'
                    'allow_insecure = true\n[http]\n')  # fmt: skip
    cfg = loads(conf.read_text())
    store = ReceiverStore(cfg.store_url, cfg.data_dir)
    users = {"budi": "officer", "sari": "officer", "vina": "viewer", "root": "admin"}
    try:
        for name, role in users.items():
            add_user(store, name, role)
        with store.db.transaction() as cur:  # the messages checked below are the English ones
            cur.execute("UPDATE users SET lang = 'en'")
        with (client_for(cfg, store) as budi, client_for(cfg, store) as sari,
              client_for(cfg, store) as vina, client_for(cfg, store) as root):  # fmt: skip
            clients = {"budi": budi, "sari": sari, "vina": vina, "root": root}
            for name, client in clients.items():
                assert login(client, name).status_code == 303
            yield Console(conf, cfg, store, Fleet(store), clients)
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def both(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Console]:
    """The console on SQLite and on PostgreSQL."""
    url = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    yield from _console(tmp_path, url)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console on SQLite, shared by the module's tests (each makes its own incidents
    and leaves the chain verifying)."""
    yield from _console(tmp_path_factory.mktemp("console"), "sqlite")


def _forms(page: str) -> set[str]:
    return set(re.findall(r'<form [^>]*id="(wf-[a-z-]+)"', page))


def test_two_officers_take_an_incident_from_new_to_closed(
    both: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    """budi acknowledges by fetch, sari's later acknowledgement finds it done; budi assigns
    it to sari by form (back to the page), sari comments by form and closes it by JSON with
    a police report number. The page offers each state's actions (a viewer none), shows the
    history, and the chain verifies with the four records in order."""
    (ref,) = both.incidents(1)
    assert _forms(both.page("budi", ref)) == {"wf-ack", "wf-take", "wf-assign", "wf-comment",
                                              "wf-close"}  # fmt: skip
    assert _forms(both.page("vina", ref)) == set()
    budi = {**JSON, "x-csrf-token": both.token("budi")}
    first = both.clients["budi"].post("/incidents/ack", json={"items": [ref], "note": "seen"},
                                      headers=budi)  # fmt: skip
    assert first.status_code == 200 and first.json() == {"acknowledged": [ref], "already": []}
    late = both.clients["sari"].post(
        "/incidents/ack", json={"csrf": both.token("sari"), "items": [ref]}, headers=JSON
    )
    assert late.json() == {"acknowledged": [], "already": [ref]}
    assert _forms(both.page("sari", ref)) == {"wf-take", "wf-assign", "wf-comment", "wf-close"}
    url = incident_url(*ref.split("/", 1))
    assigned = both.post("budi", ref, "assign", assignee="sari", seen="acknowledged|")
    assert assigned.status_code == 303 and assigned.headers["location"] == url
    assert both.post("sari", ref, "comment", text="on my way").status_code == 303
    closed = both.clients["sari"].post(
        f"{url}/close", headers={**JSON, "x-csrf-token": both.token("sari")},
        json={"outcome": "police_report", "report_no": "LP/B/77/XII/2026", "note": "lock cut"},
    )  # fmt: skip
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closed_by"] == "sari"
    assert both.state(ref) == ("closed", "budi", "sari", "sari", "police_report",
                               "LP/B/77/XII/2026")  # fmt: skip
    page = html.unescape(both.page("budi", ref))
    assert _forms(page) == {"wf-reopen"}
    assert "on my way" in page and "lock cut" in page
    code, said = both.verify(capsys)
    assert code == 0 and "incident workflow: 4 notes checked against their records" in said, said
    notes = both.store.db.query("SELECT username, action FROM incident_notes ORDER BY seq")
    assert notes == [("budi", "acknowledge"), ("budi", "assign"), ("sari", "comment"),
                     ("sari", "close")]  # fmt: skip


def test_refusals_are_clear_answers(console: Console) -> None:
    """A viewer is refused (403 naming why), as is a POST without the CSRF token or from
    another site; closing a new incident without an outcome is a 400 naming the incident
    and its state (JSON for a fetch, text for a form); a malformed item a 400; acting on a
    closed incident, or from a page that is out of date, a 409; an unknown action a 404."""
    ref, other = console.incidents(2)
    url = incident_url(*ref.split("/", 1))
    viewer = console.clients["vina"].post("/incidents/ack", data={"items": ref})
    assert viewer.status_code == 403 and "vina is a viewer" in viewer.text
    budi = console.clients["budi"]
    assert budi.post("/incidents/ack", data={"items": ref}).status_code == 403
    foreign = budi.post("/incidents/ack", data={"csrf": console.token("budi"), "items": ref},
                        headers={"origin": "http://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    token = {"x-csrf-token": console.token("budi")}
    bare = budi.post(f"{url}/close", json={}, headers={**JSON, **token})
    assert bare.status_code == 400
    assert bare.json() == {"error": f"closing incident {ref} (now new) needs an outcome: one "
                                    "of false_alarm, patrol_sent, police_report, test, other",
                           "incident": ref, "status": "new"}  # fmt: skip
    form = console.post("budi", ref, "close", outcome="police_report")
    assert (
        form.status_code == 400
        and f"incident {ref}: closing with a police report needs" in form.text
    )
    junk = budi.post("/incidents/ack", json={"items": ["garbage"]}, headers={**JSON, **token})
    assert junk.status_code == 400 and "'garbage': not an incident" in junk.json()["error"]
    assert console.post("budi", ref, "fly").status_code == 404
    assert console.post("budi", ref, "close", outcome="test").status_code == 303
    late = budi.post(f"{url}/comment", json={"text": "x"}, headers={**JSON, **token})
    assert late.status_code == 409 and late.json()["status"] == "closed"
    assert f"incident {ref}: it is closed by budi (Test)" in late.json()["error"]
    stale = console.post("budi", other, "assign", assignee="sari", seen="acknowledged|")
    assert stale.status_code == 409 and "changed since you looked: it is now new" in stale.text
    assert console.state(other)[0] == "new"


def test_bulk_acknowledgement_of_200_incidents_in_one_request(console: Console) -> None:
    """The list's bulk acknowledge with 200 picked incidents: one form POST (back to the
    list) acknowledges all 200; the same 200 again by fetch answer all ``already``."""
    refs = console.incidents(200)
    token = console.token("budi")
    started = time.perf_counter()
    answer = console.clients["budi"].post(
        "/incidents/ack", data={"csrf": token, "items": refs, "note": "night round"},
        headers={"referer": "http://testserver/alerts?unacked=1"}, follow_redirects=False,
    )  # fmt: skip
    took = time.perf_counter() - started
    print(f"bulk acknowledge of 200 incidents by one form POST: {took * 1000:.0f} ms")
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts?unacked=1"
    assert {console.state(ref)[:2] for ref in refs} == {("acknowledged", "budi")}
    sari = {**JSON, "x-csrf-token": console.token("sari")}
    again = console.clients["sari"].post("/incidents/ack", json={"items": refs}, headers=sari)
    assert again.json() == {"acknowledged": [], "already": refs}


def test_the_per_event_acknowledgement_acknowledges_its_incident(
    console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    """``POST /ack/SITE/NODE/ID`` keeps its ``acks`` row and record and acknowledges the
    event's incident in the same transaction; a second event of that incident
    acknowledged later adds its row but no second incident acknowledgement. The chain
    verifies."""
    door = console.fleet.event("door_open", incident="case-9")
    person = console.fleet.event("person", incident="case-9")
    site = console.fleet.node.site
    for event in (door, person):
        page = console.clients["budi"].get(console.fleet.url(event)).text
        answer = console.clients["budi"].post(console.fleet.url(event, "ack"),
                                              data={"csrf": csrf_of(page), "note": "checked"},
                                              follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303, answer.text
    assert console.state(f"{site}/case-9")[:2] == ("acknowledged", "budi")
    acks = console.store.db.query("SELECT event_id FROM acks WHERE event_id IN (?, ?)",
                                  (door, person))  # fmt: skip
    assert len(acks) == 2
    notes = console.store.db.query(
        "SELECT action, text FROM incident_notes WHERE incident = 'case-9'"
    )
    assert notes == [("acknowledge", "checked")]
    code, said = console.verify(capsys)
    assert code == 0 and "OK" in said, said


def test_two_officers_closing_at_once(console: Console) -> None:
    """budi and sari close one incident at the same moment: one is closed (200), the other
    is told who closed it (409); both answers by JSON."""
    (ref,) = console.incidents(1)
    url = incident_url(*ref.split("/", 1))
    tokens = {u: console.token(u) for u in ("budi", "sari")}
    answers: dict[str, Any] = {}
    start = threading.Barrier(2)

    def close(user: str, outcome: str) -> None:
        start.wait(30)
        answers[user] = console.clients[user].post(
            f"{url}/close", json={"outcome": outcome},
            headers={**JSON, "x-csrf-token": tokens[user]},
        )  # fmt: skip

    threads = [threading.Thread(target=close, args=a)
               for a in (("budi", "false_alarm"), ("sari", "patrol_sent"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(a.status_code for a in answers.values())
    assert codes == [200, 409], {u: a.text for u, a in answers.items()}
    winner = next(u for u, a in answers.items() if a.status_code == 200)
    loser = next(a for a in answers.values() if a.status_code == 409)
    assert f"is already closed by {winner}" in loser.json()["error"]


def test_an_edited_note_is_caught_by_verify_and_admin(
    console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    """A comment rewritten in the store: ``audit verify`` exits 1 naming the note, and
    ``/admin`` says damaged with the same line; put back, it verifies again."""
    (ref,) = console.incidents(1)
    assert console.post("sari", ref, "comment", text="two men at the gate").status_code == 303
    edit = "UPDATE incident_notes SET text = ? WHERE incident = ? AND action = 'comment'"
    with console.store.db.transaction() as cur:
        cur.execute(edit, ("nobody there", ref.split("/", 1)[1]))
    code, said = console.verify(capsys)
    line = f"(comment of {ref} by sari): text differs from chain record"
    assert code == 1 and line in said, said
    admin = html.unescape(console.clients["root"].get("/admin").text)
    assert "damaged" in admin and line in admin
    with console.store.db.transaction() as cur:
        cur.execute(edit, ("two men at the gate", ref.split("/", 1)[1]))
    assert console.verify(capsys)[0] == 0


def test_an_incident_id_holding_a_slash_is_reached(console: Console) -> None:
    """A node's own incident id may hold ``/`` and spaces: the page's forms encode it and
    the actions reach that incident."""
    console.fleet.event("person", incident="case/7 b")
    ref = f"{console.fleet.node.site}/case/7 b"
    assert "/case%2F7%20b/comment" in console.page("budi", ref)
    assert console.post("budi", ref, "comment", text="gate 2").status_code == 303
    notes = console.store.db.query(
        "SELECT action, text FROM incident_notes WHERE incident = 'case/7 b'"
    )
    assert notes == [("comment", "gate 2")]
