"""The officers' workflow on an incident: ``new`` -> ``acknowledged`` (who, when) ->
``in_progress`` (assigned to someone, comments) -> ``closed`` (an outcome; a police report
needs its number), and ``reopen`` back from closed with a reason.

Every change is one record in the receiver's signed audit chain (kind ``incident``, the
note's action, the state it leaves), written in the same transaction as the ``incidents``
row and its ``incident_notes`` row (whose ``audit_hash`` is the record's hash); the head is
signed before the commit. The chain's lock serialises officers (and receivers on one
PostgreSQL): each action reads the incident under it, so of two officers closing one
incident at once one closes it and the other is told who did; nothing is lost (comments
both land). Reopen notes the ingest wrote without a key (see
:mod:`edge.receiver.store.occurrences`) are sealed into the chain by the next action."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.core.logs import get_logger
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.ackaudit.chain import CHECKPOINT_EVERY, ChainError, ChainWriter
from edge.receiver.ackaudit.records import (
    INCIDENT,
    INCIDENT_STATE,
    incident_digest,
    reopened_state,
)
from edge.receiver.store.database import Cursor, Database
from edge.receiver.store.incident_hold import set_hold
from edge.receiver.store.incident_seal import seal_pending
from edge.receiver.store.incident_words import N_, Words, WorkflowError, state_words, words

log = get_logger(__name__)

STATUSES = ("new", "acknowledged", "in_progress", "closed")
OUTCOMES = ("false_alarm", "patrol_sent", "police_report", "test", "other")
"""How an incident was closed; ``police_report`` needs the report's number, ``other`` a
note saying what."""
ACTIONS = ("acknowledge", "assign", "comment", "close", "reopen")
MAX_TEXT = 2000
MAX_REPORT_NO = 64
MAX_BULK = 500
"""Incidents one bulk acknowledgement takes at most."""
_ROW = ("site", "incident", "severity", *INCIDENT_STATE)


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """One incident: its site and id."""

    site: str
    incident: str

    def __str__(self) -> str:
        return f"{self.site}/{self.incident}"

    @classmethod
    def parse(cls, text: str) -> Ref:
        """``SITE/INCIDENT`` (400 naming the text if it is not that)."""
        site, _, incident = text.strip().partition("/")
        if not site or not incident or len(text) > 400:
            raise WorkflowError(400, words(N_("%(text)s: not an incident (SITE/INCIDENT)"),
                                          text=repr(text[:80])))  # fmt: skip
        return cls(site, incident)


@dataclass
class Bulk:
    """What a bulk acknowledgement did: refs acknowledged now, and those that were not new
    any more (someone else acknowledged, took or closed them)."""

    acknowledged: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


def load(cur: Cursor, ref: Ref) -> dict[str, object] | None:
    """The incident's workflow columns (None: no such incident)."""
    got = cur.execute(
        f"SELECT {', '.join(_ROW)} FROM incidents WHERE site = ? AND incident = ?",  # noqa: S608
        (ref.site, ref.incident),
    ).fetchone()
    return dict(zip(_ROW, got, strict=True)) if got else None


def _clean(text: object, limit: int = MAX_TEXT) -> str:
    return str(text or "").replace("\0", "").strip()[:limit]


def write_note(
    cur: Cursor, chain: ChainWriter, row: dict[str, object], *, user: str, action: str,
    text: str, when: float | None = None, **changes: object,
) -> dict[str, object]:  # fmt: skip
    """Append the record of *action* on the incident *row* (leaving its workflow columns
    as *row* updated by *changes*), update the row and write its note; returns the
    record. A row whose status changed under us (an ingest reopening it) is a 409."""
    now = when if when is not None else round(time.time(), 3)
    before = str(row["status"])
    state = {k: row[k] for k in INCIDENT_STATE} | changes
    site, incident = str(row["site"]), str(row["incident"])
    record = chain.append(action, INCIDENT, incident,
                          incident_digest(site, incident, user, action, text), when=now,
                          site=site, user=user, text=text, previous=before,
                          receiver=chain.receiver, **state)  # fmt: skip
    sets = ", ".join(f"{k} = ?" for k in INCIDENT_STATE)
    changed = cur.execute(
        f"UPDATE incidents SET {sets}, updated = ?"  # noqa: S608 - constant columns
        " WHERE site = ? AND incident = ? AND status = ?",
        (*(state[k] for k in INCIDENT_STATE), now, site, incident, before),
    ).rowcount
    if changed != 1:
        ref = f"{site}/{incident}"
        raise WorkflowError(409, words(N_("incident %(ref)s changed meanwhile: try again"),
                                       ref=ref), ref)  # fmt: skip
    cur.execute(
        "INSERT INTO incident_notes (site, incident, username, time, action, text, audit_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (site, incident, user, now, action, text, record["hash"]),
    )
    row.update(state)
    return record


def acknowledge_row(cur: Cursor, chain: ChainWriter, row: dict[str, object], user: str,
                    note: str) -> bool:  # fmt: skip
    """Acknowledge the incident *row* if it is new (True), else leave it (False)."""
    if row["status"] != "new":
        return False
    now = round(time.time(), 3)
    write_note(cur, chain, row, user=user, action="acknowledge", text=note, when=now,
               status="acknowledged", acked_by=user, acked_at=now)  # fmt: skip
    return True


def event_incident(cur: Cursor, site: str, node: str, event_id: str) -> Ref | None:
    """The incident an event belongs to (through its occurrence), if it has a row."""
    got = cur.execute(
        "SELECT o.incident FROM events e JOIN occurrences o ON o.site = e.site"
        " AND o.node = e.node AND o.occurrence = e.occurrence"
        " WHERE e.site = ? AND e.node = ? AND e.id = ?",
        (site, node, event_id),
    ).fetchone()
    if got is None:
        got = cur.execute(
            "SELECT COALESCE(incident, occurrence, id) FROM events"
            " WHERE site = ? AND node = ? AND id = ?",
            (site, node, event_id),
        ).fetchone()
    return Ref(site, str(got[0])) if got and got[0] is not None else None


def acknowledge_event(cur: Cursor, chain: ChainWriter, site: str, node: str, event_id: str,
                      *, user: str, note: str) -> bool:  # fmt: skip
    """Acknowledging one event acknowledges its incident (if that is new): in the caller's
    chain transaction. True if the incident was acknowledged now."""
    ref = event_incident(cur, site, node, event_id)
    row = load(cur, ref) if ref else None
    return row is not None and acknowledge_row(cur, chain, row, user, _clean(note))


class Workflow:
    """The workflow's actions for receiver *receiver* (its key and kept head in
    *data_dir*). Each raises :class:`WorkflowError` when refused."""

    def __init__(
        self, db: Database, data_dir: Path, receiver: str, checkpoint_every: int = CHECKPOINT_EVERY
    ) -> None:
        self.db = db
        self.appender = Appender(db, data_dir, receiver, checkpoint_every)

    @contextlib.contextmanager
    def _chain(self) -> Iterator[tuple[Cursor, ChainWriter]]:
        try:
            with self.appender.transaction() as (cur, chain):
                seal_pending(cur, chain)
                yield cur, chain
        except ChainError as e:
            log.error("audit.chain_damaged", error=str(e))
            raise WorkflowError(409, words(N_("not recorded: %(why)s; see /admin"),
                                           why=str(e))) from e  # fmt: skip

    def _row(self, cur: Cursor, ref: Ref, seen: str | None) -> dict[str, object]:
        row = load(cur, ref)
        if row is None:
            raise WorkflowError(404, words(N_("no incident %(ref)s"), ref=str(ref)), str(ref))
        if seen:
            status, _, assignee = seen.partition("|")
            if (status, assignee) != (row["status"], row["assignee"] or ""):
                said = words(N_("incident %(ref)s changed since you looked: it is now %(state)s"),
                             ref=str(ref), state=state_words(row))  # fmt: skip
                raise WorkflowError(409, said, str(ref), str(row["status"]))
        return row

    @staticmethod
    def _open(ref: Ref, row: dict[str, object], refusal: str) -> None:
        if row["status"] == "closed":
            said = words(refusal, ref=str(ref), state=state_words(row))
            raise WorkflowError(409, said, str(ref), "closed")

    def acknowledge(self, refs: Sequence[Ref], user: str, note: str = "") -> Bulk:
        """Acknowledge every incident of *refs* that is new, in one transaction; the others
        are ``already``. An unknown incident refuses the whole request (404)."""
        refs = list(dict.fromkeys(refs))
        if not refs:
            raise WorkflowError(400, words(N_("no incident to acknowledge (items: "
                                              "SITE/INCIDENT)")))  # fmt: skip
        if len(refs) > MAX_BULK:
            raise WorkflowError(400, words(N_("%(n)s incidents: at most %(most)s per request"),
                                           n=len(refs), most=MAX_BULK))  # fmt: skip
        done = Bulk()
        with self._chain() as (cur, chain):
            rows = [(ref, load(cur, ref)) for ref in refs]
            missing = [str(ref) for ref, row in rows if row is None]
            if missing:
                named = ", ".join(missing[:5])
                if len(missing) > 5:
                    named += f" (+{len(missing) - 5})"
                raise WorkflowError(404, words(N_("no incident %(ref)s"), ref=named), missing[0])
            for ref, row in rows:
                assert row is not None
                acked = acknowledge_row(cur, chain, row, user, _clean(note))
                (done.acknowledged if acked else done.already).append(str(ref))
        log.info("incident.acknowledged", user=user, count=len(done.acknowledged),
                 already=len(done.already))  # fmt: skip
        return done

    def assign(self, ref: Ref, user: str, assignee: str = "", note: str = "",
               seen: str | None = None) -> dict[str, object]:  # fmt: skip
        """Put the incident in progress, assigned to *assignee* (default: *user*); a new
        one is acknowledged by *user* first (its own record)."""
        assignee = _clean(assignee, 200) or user
        with self._chain() as (cur, chain):
            row = self._row(cur, ref, seen)
            self._open(ref, row, N_("cannot assign incident %(ref)s: it is %(state)s; reopen "
                                    "it first"))  # fmt: skip
            role = cur.execute("SELECT role FROM users WHERE name = ?", (assignee,)).fetchone()
            if role is None:
                said = words(N_("incident %(ref)s: no user %(user)s to assign"), ref=str(ref),
                             user=repr(assignee))  # fmt: skip
                raise WorkflowError(400, said, str(ref))
            if role[0] == "viewer":
                raise WorkflowError(400, words(N_("incident %(ref)s: %(user)s is a viewer and "
                                                  "cannot take incidents"), ref=str(ref),
                                               user=assignee), str(ref))  # fmt: skip
            if row["status"] == "in_progress" and row["assignee"] == assignee:
                raise WorkflowError(409, _already(ref, row), str(ref), row["status"])
            acknowledge_row(cur, chain, row, user, "")
            write_note(cur, chain, row, user=user, action="assign", text=_clean(note),
                       status="in_progress", assignee=assignee)  # fmt: skip
        log.info("incident.assigned", incident=str(ref), user=user, assignee=assignee)
        return row

    def comment(self, ref: Ref, user: str, text: str) -> dict[str, object]:
        """Add a comment (any state but closed)."""
        text = _clean(text)
        if not text:
            raise WorkflowError(400, words(N_("incident %(ref)s: the comment is empty"),
                                           ref=str(ref)), str(ref))  # fmt: skip
        with self._chain() as (cur, chain):
            row = self._row(cur, ref, None)
            self._open(ref, row, N_("cannot comment on incident %(ref)s: it is %(state)s; "
                                    "reopen it first"))  # fmt: skip
            write_note(cur, chain, row, user=user, action="comment", text=text)
        log.info("incident.commented", incident=str(ref), user=user)
        return row

    def close(self, ref: Ref, user: str, outcome: str, *, report_no: str = "", note: str = "",
              seen: str | None = None) -> dict[str, object]:  # fmt: skip
        """Close with an *outcome* (``police_report`` needs *report_no*, ``other`` a
        *note*); a new incident is acknowledged by *user* first (its own record)."""
        outcome, report_no, note = outcome.strip(), _clean(report_no, MAX_REPORT_NO), _clean(note)
        with self._chain() as (cur, chain):
            row = self._row(cur, ref, seen)
            if row["status"] == "closed":
                raise WorkflowError(409, _already(ref, row), str(ref), "closed")
            _check_outcome(ref, row, outcome, report_no, note)
            acknowledge_row(cur, chain, row, user, "")
            now = round(time.time(), 3)
            write_note(cur, chain, row, user=user, action="close", text=note, when=now,
                       status="closed",
                       closed_by=user, closed_at=now, outcome=outcome,
                       report_no=report_no or None)  # fmt: skip
        log.info("incident.closed", incident=str(ref), user=user, outcome=outcome)
        return row

    def reopen(
        self, ref: Ref, user: str, reason: str, seen: str | None = None
    ) -> dict[str, object]:
        """Reopen a closed incident with a *reason*: ``new`` again (it rings on the console
        until someone acknowledges it), as when a new alarm joins it; the assignee stays."""
        reason = _clean(reason)
        if not reason:
            raise WorkflowError(400, words(N_("incident %(ref)s: reopening needs a reason"),
                                           ref=str(ref)), str(ref))  # fmt: skip
        with self._chain() as (cur, chain):
            row = self._row(cur, ref, seen)
            if row["status"] != "closed":
                said = words(N_("incident %(ref)s is %(state)s, not closed: only a closed "
                                "incident is reopened"),
                             ref=str(ref), state=state_words(row))  # fmt: skip
                raise WorkflowError(409, said, str(ref), str(row["status"]))
            state = reopened_state({k: row[k] for k in INCIDENT_STATE})
            write_note(cur, chain, row, user=user, action="reopen", text=reason, **state)
        log.info("incident.reopened_by_officer", incident=str(ref), user=user)
        return row

    def hold(self, ref: Ref, user: str, reason: str, *, on: bool = True) -> dict[str, object]:
        """Place the incident on hold (*on*) or release it, with a *reason*
        (:mod:`edge.receiver.store.incident_hold`): retention keeps a held one's material."""
        with self._chain() as (cur, chain):
            row = self._row(cur, ref, None)
            set_hold(cur, chain, row, user=user, reason=_clean(reason), on=on)
        log.info("incident.held" if on else "incident.released", incident=str(ref), user=user)
        return row

    def seal(self) -> None:
        """Seal the reopen notes the ingest wrote into the chain now (every action does
        it first anyway)."""
        with self._chain():
            pass


def _already(ref: Ref, row: dict[str, object]) -> Words:
    return words(N_("incident %(ref)s is already %(state)s"), ref=str(ref), state=state_words(row))


def _check_outcome(ref: Ref, row: dict[str, object], outcome: str, report_no: str,
                   note: str) -> None:  # fmt: skip
    said: Words | None = None
    known = ", ".join(OUTCOMES)
    if not outcome:
        said = words(N_("closing incident %(ref)s (now %(state)s) needs an outcome: one of "
                        "%(outcomes)s"),
                     ref=str(ref), state=state_words(row), outcomes=known)  # fmt: skip
    elif outcome not in OUTCOMES:
        said = words(N_("incident %(ref)s: outcome %(outcome)s is not one of %(outcomes)s"),
                     ref=str(ref), outcome=repr(outcome[:40]), outcomes=known)  # fmt: skip
    elif outcome == "police_report" and not report_no:
        said = words(N_("incident %(ref)s: closing with a police report needs the police "
                        "report number"), ref=str(ref))  # fmt: skip
    elif outcome == "other" and not note:
        said = words(N_("incident %(ref)s: the outcome Other needs a note saying what "
                        "happened"), ref=str(ref))  # fmt: skip
    if said is not None:
        raise WorkflowError(400, said, str(ref), str(row["status"]))
