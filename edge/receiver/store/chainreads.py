"""What verifying the acknowledgement chain (:mod:`edge.receiver.ackaudit.verify` and its
access, incident and retention parts) reads: the chain, its keys, and every table whose
rows the chain must account for. Read-only; table and column names are constants of this
module or the caller's."""

from __future__ import annotations

from collections.abc import Sequence

from edge.receiver.store.database import Database
from edge.receiver.store.retentionrows import TABLES


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def receiver_keys(db: Database) -> list[tuple[str, str, str]]:
    """(key_id, receiver, public key PEM) of every registered receiver key."""
    return list(db.query("SELECT key_id, receiver, public_key FROM receiver_keys"))


def acks(db: Database) -> list[tuple[int, str, str, str, str, str, float, str]]:
    """(seq, site, node, event_id, username, note, time, audit_hash) of every ``acks`` row,
    in order."""
    return list(db.query("SELECT seq, site, node, event_id, username, note, time, audit_hash"
                         " FROM acks ORDER BY seq"))  # fmt: skip


def chain(db: Database) -> list[tuple[int, str, str]]:
    """(seq, hash, record text) of every chain record, in order."""
    return list(db.query("SELECT seq, hash, record FROM ack_chain ORDER BY seq"))


def records_of(db: Database, actions: Sequence[str]) -> list[tuple[int, str]]:
    """(seq, record text) of the chain's records of *actions*, in order."""
    rows = db.query(f"SELECT seq, record FROM ack_chain WHERE action IN ({_marks(actions)})"  # noqa: S608
                    " ORDER BY seq", tuple(actions))  # fmt: skip
    return [(r[0], r[1]) for r in rows]


def access_index(
    db: Database,
) -> list[tuple[int, float, str, str, str, str, str | None, str | None]]:
    """(seq, time, username, action, type, item_id, site, node) of the access index, in
    order."""
    return list(db.query("SELECT seq, time, username, action, type, item_id, site, node"
                         " FROM access_log ORDER BY seq"))  # fmt: skip


def pending_viewings(db: Database) -> int:
    """How many viewings are not chained yet."""
    return int(db.query("SELECT COUNT(*) FROM access_viewings")[0][0] or 0)


def incident_notes(db: Database) -> list[tuple[int, str, str, str, float, str, str, str]]:
    """(seq, site, incident, username, time, action, text, audit_hash) of every incident
    note, in order."""
    return list(db.query("SELECT seq, site, incident, username, time, action, text, audit_hash"
                         " FROM incident_notes ORDER BY seq"))  # fmt: skip


def touched_incidents(db: Database, cols: Sequence[str]) -> list[tuple[object, ...]]:
    """(site, incident, *cols*) of every incident someone worked on (not new, or
    acknowledged, assigned or closed)."""
    return list(db.query(f"SELECT site, incident, {', '.join(cols)} FROM incidents"  # noqa: S608
                         " WHERE status <> 'new' OR acked_by IS NOT NULL OR assignee IS NOT NULL"
                         " OR closed_by IS NOT NULL"))  # fmt: skip


def alarms_joined(db: Database, site: str, incident: str, since: float) -> int:
    """How many alarm or critical occurrences joined *site*'s *incident* at or after
    *since*."""
    rows = db.query("SELECT COUNT(*) FROM occurrences WHERE site = ? AND incident = ?"
                    " AND received >= ? AND severity IN ('alarm', 'critical')",
                    (site, incident, since))  # fmt: skip
    return int(rows[0][0] or 0)


def incident_row(
    db: Database, site: str, incident: str, cols: Sequence[str]
) -> tuple[object, ...] | None:
    """*cols* of *site*'s *incident* (None: no such incident)."""
    got = db.query(f"SELECT {', '.join(cols)} FROM incidents"  # noqa: S608
                   " WHERE site = ? AND incident = ?", (site, incident))  # fmt: skip
    return got[0] if got else None


def deleted_items(db: Database, kind: str) -> list[tuple[str, str, str, str, float, int | None]]:
    """(site, node, id, sha256, deleted, deleted_seq) of the items of type *kind* (clip,
    snapshot) that retention marked deleted."""
    table, col = TABLES[kind]
    return list(db.query(f"SELECT site, node, {col}, sha256, deleted, deleted_seq"  # noqa: S608
                         f" FROM {table} WHERE deleted IS NOT NULL"))  # fmt: skip


def held_incidents(db: Database) -> list[tuple[str, str, float, str | None, str | None]]:
    """(site, incident, held, held_by, hold_reason) of every incident on hold."""
    return list(db.query("SELECT site, incident, held, held_by, hold_reason FROM incidents"
                         " WHERE held IS NOT NULL"))  # fmt: skip


def record_texts(db: Database) -> list[str]:
    """Every chain record's stored text (one JSON line each), in order."""
    return [str(r[0]) for r in db.query("SELECT record FROM ack_chain ORDER BY seq")]
