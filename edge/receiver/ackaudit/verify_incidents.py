"""Checking the incident workflow against the chain, as ``acks`` rows are checked: every
``incident_notes`` row matches the record its ``audit_hash`` names (site, incident, user,
action, text, time), every incident record has its note, and every incident's workflow
columns (status, who acknowledged, assignee, who closed, outcome, report number) are what
its last record left, so a note deleted, edited or inserted, and an incident closed or
reassigned by hand in the store, are each one line naming the note, record or incident.

The receiver's own reopen notes (a new alarm joined a closed incident; the ingest holds no
key) are ``pending`` until the next workflow action seals them into the chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.receiver.ackaudit.records import INCIDENT_STATE, reopened_state
from edge.receiver.store import chainreads
from edge.receiver.store.database import Database

RECEIVER_USER = "receiver"
"""The user of the reopen notes the ingest writes (see ``store/incident_seal.py``)."""


@dataclass
class IncidentWalk:
    """The incident records met along the chain."""

    records: dict[str, tuple[int, dict[str, object]]] = field(default_factory=dict)
    """record hash -> (seq, record)."""
    last: dict[tuple[str, str], tuple[int, dict[str, object]]] = field(default_factory=dict)
    """(site, incident) -> its newest record."""

    def add(self, seq: int, rec: dict[str, object]) -> None:
        """One incident record of the chain (in chain order)."""
        self.records[str(rec.get("hash"))] = (seq, rec)
        self.last[(str(rec.get("site")), str(rec.get("id")))] = (seq, rec)


def _what(rec: dict[str, object]) -> str:
    return f"{rec.get('action')} of {rec.get('site')}/{rec.get('id')} by {rec.get('user')}"


def check_notes(db: Database, walk: IncidentWalk, problems: list[str]) -> tuple[int, int]:
    """Check the notes and the incidents' workflow columns; returns (notes, pending)."""
    rows = chainreads.incident_notes(db)
    used: set[str] = set()
    pending: set[tuple[str, str]] = set()
    for seq, site, incident, user, when, action, text, audit_hash in rows:
        name = f"incident note {seq} ({action} of {site}/{incident} by {user})"
        if not audit_hash:
            if user == RECEIVER_USER and action == "reopen":
                pending.add((str(site), str(incident)))
            else:
                problems.append(f"{name}: no chain record (inserted without the receiver)")
            continue
        found = walk.records.get(str(audit_hash))
        if found is None:
            problems.append(f"{name}: no chain record (inserted, or its record deleted)")
            continue
        rseq, rec = found
        if audit_hash in used:
            problems.append(f"{name}: a second note for chain record seq {rseq} (inserted)")
            continue
        used.add(str(audit_hash))
        fields = {
            "site": (site, rec.get("site")),
            "incident": (incident, rec.get("id")),
            "name": (user, rec.get("user")),
            "action": (action, rec.get("action")),
            "text": (text, rec.get("text")),
            "time": (float(when), rec.get("time")),
        }
        differ = [f for f, (row, record) in fields.items() if row != record]
        if differ:
            verb = "differs" if len(differ) == 1 else "differ"
            problems.append(f"{name}: {', '.join(differ)} {verb} from chain record seq {rseq} "
                            "(edited)")  # fmt: skip
    for digest, (rseq, rec) in walk.records.items():
        if digest not in used:
            problems.append(f"chain record seq {rseq} ({_what(rec)}): no incident note "
                            "(deleted)")  # fmt: skip
    _check_states(db, walk, pending, problems)
    return len(rows), sum(1 for r in rows if not r[7])


def _check_states(
    db: Database, walk: IncidentWalk, pending: set[tuple[str, str]], problems: list[str]
) -> None:
    rows = chainreads.touched_incidents(db, INCIDENT_STATE)
    touched = {(str(r[0]), str(r[1])): dict(zip(INCIDENT_STATE, r[2:], strict=True)) for r in rows}
    for key in set(touched) - set(walk.last):
        if key not in pending:
            problems.append(f"incident {key[0]}/{key[1]}: {touched[key]['status']} with no "
                            "chain record saying so (edited)")  # fmt: skip
    for (site, incident), (rseq, rec) in walk.last.items():
        expected = {k: rec.get(k) for k in INCIDENT_STATE}
        if (site, incident) in pending:
            _check_pending(db, (site, incident), rseq, expected, problems)
            expected = reopened_state(expected)
        state = touched.get((site, incident))
        if state is None:
            state = _state(db, site, incident)
            if state is None:
                problems.append(f"incident {site}/{incident}: chain record seq {rseq} names it "
                                "but it has no row (deleted)")  # fmt: skip
                continue
        differ = [k for k in INCIDENT_STATE if _norm(state[k]) != _norm(expected[k])]
        if differ:
            verb = "differs" if len(differ) == 1 else "differ"
            problems.append(f"incident {site}/{incident}: {', '.join(differ)} {verb} from its "
                            f"last chain record seq {rseq} (edited)")  # fmt: skip


def _check_pending(db: Database, key: tuple[str, str], rseq: int, before: dict[str, Any],
                   problems: list[str]) -> None:  # fmt: skip
    """A reopen note of the receiver follows a close, and a new alarm or critical that
    joined the incident after it (else the note was inserted)."""
    site, incident = key
    name = f"incident {site}/{incident}: a reopen note of the receiver"
    if before["status"] != "closed":
        problems.append(f"{name}, but its last chain record seq {rseq} left it "
                        f"{before['status']}, not closed (inserted)")  # fmt: skip
        return
    if not chainreads.alarms_joined(db, site, incident, float(before["closed_at"] or 0)):
        problems.append(f"{name}, but no alarm joined it after it was closed (inserted)")


def _state(db: Database, site: str, incident: str) -> dict[str, object] | None:
    got = chainreads.incident_row(db, site, incident, INCIDENT_STATE)
    return dict(zip(INCIDENT_STATE, got, strict=True)) if got is not None else None


def _norm(value: object) -> object:
    return float(value) if isinstance(value, int | float) else value
