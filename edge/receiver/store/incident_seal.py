"""Reopen notes the ingest writes without a key: when a new alarm joins a closed incident,
the ingest (which holds no receiver key) reopens it with a note by the user ``receiver``
whose ``audit_hash`` is empty (see :mod:`edge.receiver.store.occurrences`). The next
workflow transaction seals each such note into the chain (a ``reopen`` record at the
note's time, ``sealed``), so that every state an incident passed through is signed; until
then ``verify`` counts them as pending."""

from __future__ import annotations

import json

from edge.core.logs import get_logger
from edge.receiver.ackaudit.chain import ChainWriter
from edge.receiver.ackaudit.records import (
    INCIDENT,
    INCIDENT_STATE,
    incident_digest,
    reopened_state,
)
from edge.receiver.store.database import Cursor

log = get_logger(__name__)

RECEIVER_USER = "receiver"
"""The user of the notes the receiver writes itself."""


def last_state(cur: Cursor, site: str, incident: str, before: int) -> dict[str, object] | None:
    """The workflow state the incident's last sealed note (seq below *before*) left."""
    got = cur.execute(
        "SELECT c.record FROM incident_notes n JOIN ack_chain c ON c.hash = n.audit_hash"
        " WHERE n.site = ? AND n.incident = ? AND n.audit_hash <> '' AND n.seq < ?"
        " ORDER BY n.seq DESC LIMIT 1",
        (site, incident, before),
    ).fetchone()
    if got is None:
        return None
    record = json.loads(str(got[0]))
    return {k: record.get(k) for k in INCIDENT_STATE}


def seal_pending(cur: Cursor, chain: ChainWriter) -> int:
    """Seal the receiver's unsealed reopen notes into the chain; returns how many. A note
    that does not follow a close is left as it is (``verify`` names it)."""
    rows = cur.execute(
        "SELECT seq, site, incident, username, time, action, text FROM incident_notes"
        " WHERE audit_hash = '' AND username = ? AND action = 'reopen' ORDER BY seq",
        (RECEIVER_USER,),
    ).fetchall()
    sealed = 0
    for seq, site, incident, user, when, action, text in rows:
        before = last_state(cur, str(site), str(incident), int(seq))
        if before is None:
            now = cur.execute(
                f"SELECT {', '.join(INCIDENT_STATE)} FROM incidents"  # noqa: S608
                " WHERE site = ? AND incident = ?",
                (site, incident),
            ).fetchone()
            before = dict(zip(INCIDENT_STATE, now or [None] * len(INCIDENT_STATE), strict=True))
        elif before["status"] != "closed":
            log.error("incident.reopen_not_sealed", site=site, incident=incident, seq=seq,
                      why=f"its last record left it {before['status']}, not closed")  # fmt: skip
            continue
        record = chain.append(str(action), INCIDENT, str(incident),
                              incident_digest(str(site), str(incident), str(user), str(action),
                                              str(text)),
                              when=float(when), site=str(site), user=str(user), text=str(text),
                              previous="closed", receiver=chain.receiver, sealed=True,
                              **reopened_state(before))  # fmt: skip
        cur.execute("UPDATE incident_notes SET audit_hash = ? WHERE seq = ?", (record["hash"], seq))
        log.info("incident.reopen_sealed", site=site, incident=incident, audit=record["hash"])
        sealed += 1
    return sealed
