"""Holding an incident: an officer places it on hold (with a reason) so that retention
(:mod:`edge.receiver.retention`) never deletes its clips and snapshots, and releases it (with
a reason) when they may go. Each is a note and one record in the receiver's signed audit
chain (kind ``incident``, action ``hold`` or ``release``, its ``reason``), written in the
workflow's transaction (``Workflow.hold`` in :mod:`edge.receiver.store.incidents`), so a hold and
a retention pass, which both take the chain's lock, never cross: whatever the pass deletes
was not held when it was recorded. A hold is independent of the workflow state (a closed
incident is typically held for its police report) and leaves that state as it was."""

from __future__ import annotations

import time

from edge.receiver.ackaudit.chain import ChainWriter
from edge.receiver.ackaudit.records import INCIDENT, INCIDENT_STATE, incident_digest
from edge.receiver.store.database import Cursor
from edge.receiver.store.incident_words import N_, WorkflowError, words

HOLD, RELEASE = "hold", "release"
"""The record actions."""


def hold_state(cur: Cursor, site: str, incident: str) -> dict[str, object] | None:
    """Since when, by whom and why the incident is on hold (None: it is not)."""
    got = cur.execute(
        "SELECT held, held_by, hold_reason FROM incidents WHERE site = ? AND incident = ?"
        " AND held IS NOT NULL",
        (site, incident),
    ).fetchone()
    if got is None:
        return None
    return {"held": float(got[0]), "held_by": got[1], "hold_reason": got[2]}


def set_hold(cur: Cursor, chain: ChainWriter, row: dict[str, object], *, user: str, reason: str,
             on: bool) -> dict[str, object]:  # fmt: skip
    """Place the incident *row* on hold (*on*) or release it, with *reason*, in the caller's
    chain transaction; returns the row with ``held``, ``held_by``, ``hold_reason``. Holding
    a held incident, or releasing one that is not, is a 409 naming who holds it."""
    site, incident = str(row["site"]), str(row["incident"])
    ref = f"{site}/{incident}"
    if not reason:
        raise WorkflowError(400, words(N_("incident %(ref)s: a hold or its release needs a "
                                          "reason"), ref=ref), ref)  # fmt: skip
    current = hold_state(cur, site, incident)
    if on and current is not None:
        said = words(N_("incident %(ref)s is already on hold (by %(user)s)"), ref=ref,
                     user=str(current["held_by"]))  # fmt: skip
        raise WorkflowError(409, said, ref, str(row["status"]))
    if not on and current is None:
        raise WorkflowError(409, words(N_("incident %(ref)s is not on hold"), ref=ref), ref,
                            str(row["status"]))  # fmt: skip
    now = round(time.time(), 3)
    action = HOLD if on else RELEASE
    state = {k: row[k] for k in INCIDENT_STATE}  # as it was: a hold changes no state
    record = chain.append(action, INCIDENT, incident,
                          incident_digest(site, incident, user, action, reason), when=now,
                          site=site, user=user, text=reason, reason=reason, held=on,
                          previous=row["status"], receiver=chain.receiver, **state)  # fmt: skip
    held = (now, user, reason) if on else (None, None, None)
    cur.execute(
        "UPDATE incidents SET held = ?, held_by = ?, hold_reason = ?, updated = ?"
        " WHERE site = ? AND incident = ?",
        (*held, now, site, incident),
    )
    cur.execute(
        "INSERT INTO incident_notes (site, incident, username, time, action, text, audit_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (site, incident, user, now, action, reason, record["hash"]),
    )
    row.update(held=held[0], held_by=held[1], hold_reason=held[2])
    return row
