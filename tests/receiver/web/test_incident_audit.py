"""The incident workflow in the store and its audit: two officers take an incident the
ingest made from new to closed, each step one signed chain record (actions, users, order,
the state it left) beside its note, verified by the chain verifier; a reopen by the ingest
is sealed into the chain; refusals name the incident and its state and write nothing;
tampering with notes or incidents is caught; 200 incidents acknowledged in one transaction;
two receivers racing on one incident: one wins, the other is told, nothing lost. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dash import Fleet, add_user, event_wire

from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.store.incident_words import WorkflowError
from edge.receiver.store.incidents import Bulk, Ref, Workflow
from edge.receiver.store.store import ReceiverStore


@dataclass
class Desk:
    """Two receivers (two connections, two keys) on one store and a node; users are
    added where a test needs them (an assignee must be one)."""

    a: ReceiverStore
    b: ReceiverStore
    wa: Workflow
    wb: Workflow
    fleet: Fleet
    dirs: tuple[Path, Path]

    def users(self, **roles: str) -> None:
        """Add users (name=role)."""
        for name, role in roles.items():
            add_user(self.a, name, role)

    def incidents(self, n: int, kind: str = "person") -> list[Ref]:
        """*n* new incidents, each from one event committed as the receiver commits."""
        wires = [event_wire(self.fleet.node, kind) for _ in range(n)]
        self.fleet.commit([w for _, w in wires])
        return [self.ref_of(event_id) for event_id, _ in wires]

    def ref_of(self, event_id: str) -> Ref:
        """The incident of one event."""
        rows = self.a.db.query("SELECT site, incident FROM occurrences WHERE first_event = ?",
                               (event_id,))  # fmt: skip
        return Ref(str(rows[0][0]), str(rows[0][1]))

    def row(self, ref: Ref) -> dict[str, object]:
        """The incident's row."""
        cols = ("status", "acked_by", "assignee", "closed_by", "outcome", "report_no")
        got = self.a.db.query(f"SELECT {', '.join(cols)} FROM incidents"
                              " WHERE site = ? AND incident = ?",
                              (ref.site, ref.incident))  # fmt: skip
        return dict(zip(cols, got[0], strict=True))

    def records(self) -> list[dict[str, object]]:
        """The incident records of the chain, in order."""
        rows = self.a.db.query("SELECT record FROM ack_chain ORDER BY seq")
        return [r for r in (json.loads(t) for (t,) in rows) if r["kind"] == "incident"]

    def count(self, table: str) -> int:
        """Rows of *table*."""
        return int(self.a.db.query(f"SELECT COUNT(*) FROM {table}")[0][0])

    def sql(self, text: str, params: tuple[object, ...] = ()) -> None:
        """One statement as an attacker with the store's password runs it."""
        with self.a.db.transaction() as cur:
            cur.execute(text, params)


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Desk]:
    """Receivers polda-a and polda-b on one database."""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    url = shared if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    dirs = (tmp_path / "rx-a", tmp_path / "rx-b")
    a, b = ReceiverStore(url, dirs[0]), ReceiverStore(url, dirs[1])
    try:
        wa = Workflow(a.db, dirs[0], "polda-a", checkpoint_every=5)
        wb = Workflow(b.db, dirs[1], "polda-b", checkpoint_every=5)
        yield Desk(a, b, wa, wb, Fleet(a), dirs)
    finally:
        a.close()
        b.close()


def test_two_officers_take_an_incident_from_new_to_closed(desk: Desk) -> None:
    """budi acknowledges and assigns it to sari, sari comments and closes it with a police
    report number: four records in that order with their users and the state each left,
    each note holding its record's hash; the chain verifies (4 notes) from either
    receiver. An officer reopens it with a reason (new again, still assigned); closed again
    (acknowledged on the way), a new alarm joining it at ingest reopens it as new (a
    pending note), which the next action seals into the chain: it still verifies."""
    desk.users(sari="officer")
    (ref,) = desk.incidents(1)
    assert desk.row(ref)["status"] == "new"
    assert desk.wa.acknowledge([ref], "budi", "seen on camera").acknowledged == [str(ref)]
    desk.wa.assign(ref, "budi", "sari", "go and look")
    desk.wb.comment(ref, "sari", "on my way")
    desk.wb.close(ref, "sari", "police_report", report_no="LP/B/123/XII/2026", note="broken lock")
    assert desk.row(ref) == {"status": "closed", "acked_by": "budi", "assignee": "sari",
                             "closed_by": "sari", "outcome": "police_report",
                             "report_no": "LP/B/123/XII/2026"}  # fmt: skip
    steps = [(r["action"], r["user"], r["status"], r["receiver"]) for r in desk.records()]
    assert steps == [("acknowledge", "budi", "acknowledged", "polda-a"),
                     ("assign", "budi", "in_progress", "polda-a"),
                     ("comment", "sari", "in_progress", "polda-b"),
                     ("close", "sari", "closed", "polda-b")]  # fmt: skip
    notes = desk.a.db.query("SELECT username, action, text, audit_hash FROM incident_notes"
                            " WHERE incident = ? ORDER BY seq", (ref.incident,))  # fmt: skip
    assert [(n[0], n[1], n[2]) for n in notes] == [
        ("budi", "acknowledge", "seen on camera"), ("budi", "assign", "go and look"),
        ("sari", "comment", "on my way"), ("sari", "close", "broken lock")]  # fmt: skip
    assert [n[3] for n in notes] == [r["hash"] for r in desk.records()]
    for store, data in ((desk.a, desk.dirs[0]), (desk.b, desk.dirs[1])):
        check = verify_chain(store.db, data)
        assert check.ok and check.notes == 4 and check.pending == 0, check.problems
    desk.wa.reopen(ref, "budi", "the owner reports more missing")
    assert desk.row(ref) == {"status": "new", "acked_by": None, "assignee": "sari",
                             "closed_by": None, "outcome": None, "report_no": None}  # fmt: skip
    desk.wa.close(ref, "budi", "patrol_sent")
    desk.fleet.event("person", incident=ref.incident)  # a new alarm joins the closed incident
    assert desk.row(ref)["status"] == "new"
    pending = verify_chain(desk.a.db, desk.dirs[0])
    assert pending.ok and pending.pending == 1, pending.problems
    desk.wb.acknowledge([ref], "sari")
    last = desk.records()[-2:]
    assert [(r["action"], r["user"], r.get("sealed")) for r in last] == [
        ("reopen", "receiver", True), ("acknowledge", "sari", None)]  # fmt: skip
    sealed = verify_chain(desk.b.db, desk.dirs[1])
    assert sealed.ok and sealed.pending == 0 and sealed.notes == 9, sealed.problems


REFUSALS: list[tuple[str, Callable[[Workflow, Ref], object], int, str]] = [
    ("close without outcome", lambda w, r: w.close(r, "budi", ""), 400,
     "(now new) needs an outcome"),
    ("unknown outcome", lambda w, r: w.close(r, "budi", "lost"), 400, "'lost' is not one of"),
    ("police report without number", lambda w, r: w.close(r, "budi", "police_report"), 400,
     "needs the police report number"),
    ("other without note", lambda w, r: w.close(r, "budi", "other"), 400,
     "Other needs a note saying what happened"),
    ("empty comment", lambda w, r: w.comment(r, "budi", "  "), 400, "the comment is empty"),
    ("reopen a new one", lambda w, r: w.reopen(r, "budi", "why"), 409, "is new, not closed"),
    ("reopen without reason", lambda w, r: w.reopen(r, "budi", ""), 400, "needs a reason"),
    ("assign to nobody known", lambda w, r: w.assign(r, "budi", "mallory"), 400,
     "no user 'mallory' to assign"),
    ("assign to a viewer", lambda w, r: w.assign(r, "budi", "vina"), 400, "vina is a viewer"),
    ("stale page", lambda w, r: w.close(r, "budi", "test", seen="acknowledged|"), 409,
     "changed since you looked: it is now new"),
    ("no such incident", lambda w, r: w.comment(Ref(r.site, "nope"), "budi", "x"), 404,
     "no incident semarang/nope"),
]  # fmt: skip
CLOSED_REFUSALS: list[tuple[str, Callable[[Workflow, Ref], object], str]] = [
    ("comment", lambda w, r: w.comment(r, "sari", "late"), "cannot comment on incident"),
    ("assign", lambda w, r: w.assign(r, "sari", "sari"), "cannot assign incident"),
    ("close again", lambda w, r: w.close(r, "sari", "test"),
     "is already closed by budi (False alarm)"),
]  # fmt: skip


def test_refusals_name_the_incident_and_its_state_and_write_nothing(desk: Desk) -> None:
    """Each bad action on a new incident, and each action but reopen on a closed one, is
    refused with its status (400 bad input, 404 none, 409 wrong state) and a message naming
    the incident and its state; no note, record or state change is written. A new incident
    closes in one step with an outcome (acknowledged by the closer on the way)."""
    desk.users(sari="officer", vina="viewer")
    (ref,) = desk.incidents(1)
    before = (desk.count("incident_notes"), desk.count("ack_chain"), desk.row(ref))
    for name, act, status, words in REFUSALS:
        with pytest.raises(WorkflowError) as refused:
            act(desk.wa, ref)
        assert refused.value.status == status, name
        assert words in refused.value.message, (name, refused.value.message)
        if status != 404:
            assert str(ref) in refused.value.message, name
    assert (desk.count("incident_notes"), desk.count("ack_chain"), desk.row(ref)) == before
    desk.wa.close(ref, "budi", "false_alarm", seen="new|")
    assert [r["action"] for r in desk.records()] == ["acknowledge", "close"]
    for name, act, words in CLOSED_REFUSALS:
        with pytest.raises(WorkflowError) as refused:
            act(desk.wb, ref)
        assert refused.value.status == 409 and refused.value.current == "closed", name
        assert words in refused.value.message and str(ref) in refused.value.message, name
    assert verify_chain(desk.a.db).ok


def _edit_note(d: Desk) -> None:
    d.sql("UPDATE incident_notes SET text = 'nothing seen' WHERE action = 'comment'")


def _delete_note(d: Desk) -> None:
    d.sql("DELETE FROM incident_notes WHERE action = 'assign'")


def _copy_note(d: Desk) -> None:
    d.sql("INSERT INTO incident_notes (site, incident, username, time, action, text, audit_hash)"
          " SELECT site, incident, username, time, action, text, audit_hash FROM incident_notes"
          " WHERE action = 'comment'")  # fmt: skip


def _insert_note(d: Desk) -> None:
    d.sql("INSERT INTO incident_notes (site, incident, username, time, action, text, audit_hash)"
          " SELECT site, incident, 'budi', time, 'comment', 'all fine', '' FROM incident_notes"
          " WHERE action = 'comment'")  # fmt: skip


def _reassign(d: Desk) -> None:
    d.sql("UPDATE incidents SET assignee = 'mallory' WHERE status = 'in_progress'")


def _close_by_hand(d: Desk) -> None:
    d.sql("UPDATE incidents SET status = 'closed', closed_by = 'mallory', outcome = 'test'"
          " WHERE status = 'new'")  # fmt: skip


def _fake_reopen(d: Desk) -> None:
    """A reopen "by the receiver" written by hand, the incident put back to new."""
    d.sql("INSERT INTO incident_notes (site, incident, username, time, action, text, audit_hash)"
          " SELECT site, incident, 'receiver', time + 1, 'reopen', 'new alarm', '' FROM"
          " incident_notes WHERE action = 'comment'")  # fmt: skip
    d.sql("UPDATE incidents SET status = 'new', acked_by = NULL, acked_at = NULL"
          " WHERE status = 'in_progress'")  # fmt: skip


def _delete_incident(d: Desk) -> None:
    d.sql("DELETE FROM incidents WHERE status = 'in_progress'")


TAMPERS: dict[str, tuple[Callable[[Desk], None], str]] = {
    "edited note": (_edit_note, "(comment of semarang/{0} by sari): text differs from chain"),
    "deleted note": (_delete_note, "(assign of semarang/{0} by budi): no incident note (deleted)"),
    "copied note": (_copy_note, "(comment of semarang/{0} by sari): a second note for chain"),
    "inserted note": (_insert_note, "(comment of semarang/{0} by budi): no chain record"),
    "reassigned by hand": (_reassign, "incident semarang/{0}: assignee differs from its last"),
    "closed by hand": (_close_by_hand, "incident semarang/{1}: closed with no chain record"),
    "deleted incident": (_delete_incident, "incident semarang/{0}: chain record seq"),
    "reopen by hand": (_fake_reopen, "a reopen note of the receiver, but its last chain record"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("desk", "tamper"),
    [("sqlite", t) for t in TAMPERS] + [("postgresql", "edited note")],  # one engine suffices
    indirect=["desk"],
)
def test_tampering_with_the_workflow_is_caught(desk: Desk, tamper: str) -> None:
    """An incident in progress (acknowledged, assigned, commented) and a new one: after
    each change made in the store without the receiver's key, the verifier names the note,
    record or incident concerned."""
    desk.users(sari="officer")
    busy, untouched = desk.incidents(2)
    desk.wa.assign(busy, "budi", "sari")
    desk.wb.comment(busy, "sari", "the back door is open")
    assert verify_chain(desk.a.db).ok
    change, expected = TAMPERS[tamper]
    change(desk)
    check = verify_chain(desk.a.db, desk.dirs[0])
    line = expected.format(busy.incident, untouched.incident)
    assert not check.ok and any(line in p for p in check.problems), check.problems


def test_bulk_acknowledgement_of_200_incidents_is_one_transaction(desk: Desk) -> None:
    """200 new incidents (one of them acknowledged already) acknowledged in one call: 199
    acknowledged, 1 already, one signed head for all (the chain verifies); an unknown
    incident among them refuses the whole request (404 naming it, nothing written)."""
    refs = desk.incidents(200)
    desk.wb.acknowledge([refs[7]], "sari")
    heads = desk.count("ack_chain")
    with pytest.raises(WorkflowError) as refused:
        desk.wa.acknowledge([*refs, Ref("semarang", "nope")], "budi")
    assert refused.value.status == 404 and "no incident semarang/nope" in refused.value.message
    assert desk.count("ack_chain") == heads
    started = time.perf_counter()
    done = desk.wa.acknowledge(refs, "budi", "night round")
    took = time.perf_counter() - started
    print(f"bulk acknowledge of 200 incidents on {desk.a.db.engine}: {took * 1000:.0f} ms")
    assert done.already == [str(refs[7])] and len(done.acknowledged) == 199
    assert desk.a.db.query("SELECT COUNT(*) FROM incidents WHERE status = 'new'")[0][0] == 0
    check = verify_chain(desk.a.db, desk.dirs[0])
    assert check.ok and check.notes == 200, check.problems


def test_two_receivers_racing_on_one_incident(desk: Desk) -> None:
    """Two officers on two receivers at once: both close one incident (one wins, the other
    gets a 409 naming who closed it), both comment on another 10 times (all 20 kept), both
    bulk-acknowledge 30 overlapping incidents (each acknowledged once: the answers split
    them). The chain verifies."""
    contested, talked, *bulk = desk.incidents(32)
    errors: list[BaseException] = []
    refused: list[WorkflowError] = []
    bulks: list[Bulk] = []
    start = threading.Barrier(2)

    def run(w: Workflow, user: str) -> None:
        try:
            start.wait(30)
            try:
                w.close(contested, user, "false_alarm")
            except WorkflowError as e:
                refused.append(e)
            for n in range(10):
                w.comment(talked, user, f"{user} {n}")
            bulks.append(w.acknowledge(bulk, user))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(w, u))
               for w, u in ((desk.wa, "budi"), (desk.wb, "sari"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    winner = desk.row(contested)["closed_by"]
    assert len(refused) == 1 and refused[0].status == 409
    assert f"is already closed by {winner} (False alarm)" in refused[0].message
    comments = desk.a.db.query("SELECT text FROM incident_notes WHERE action = 'comment'")
    assert sorted(t for (t,) in comments) == sorted(f"{u} {n}" for u in ("budi", "sari")
                                                    for n in range(10))  # fmt: skip
    acked = [r for b in bulks for r in b.acknowledged]
    assert sorted(acked) == sorted(str(r) for r in bulk)
    check = verify_chain(desk.b.db, desk.dirs[1])
    assert check.ok and check.notes == 2 + 20 + 30, check.problems
