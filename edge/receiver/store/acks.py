"""The ``acks`` table: one acknowledgement per event (who, their note, when, and the hash
of its record in the acknowledgement chain, :mod:`edge.receiver.ackaudit`). The chain and
the row are written in the caller's one transaction (:class:`edge.receiver.web.acks.Acks`)."""

from __future__ import annotations

from edge.receiver.store.database import Cursor, Database

ACK_COLUMNS = ("username", "note", "time", "audit_hash")
"""What :func:`ack_of` gives."""


def ack_of(db: Database, site: str, node: str, event_id: str) -> dict[str, object] | None:
    """The acknowledgement of one event (None: not acknowledged)."""
    rows = db.query(
        f"SELECT {', '.join(ACK_COLUMNS)} FROM acks"  # noqa: S608
        " WHERE site = ? AND node = ? AND event_id = ?",
        (site, node, event_id),
    )
    return dict(zip(ACK_COLUMNS, rows[0], strict=True)) if rows else None


def acked(cur: Cursor, site: str, node: str, event_id: str) -> bool:
    """Is the event acknowledged already (inside the caller's transaction)?"""
    row = cur.execute(
        "SELECT 1 FROM acks WHERE site = ? AND node = ? AND event_id = ?", (site, node, event_id)
    ).fetchone()
    return row is not None


def put_ack(
    cur: Cursor, key: tuple[str, str, str], user: str, note: str, *, when: float, audit_hash: str
) -> None:
    """Store the acknowledgement of event *key* (site, node, id) by *user* with *note*, at
    *when*, and the hash of its chain record."""
    cur.execute(
        "INSERT INTO acks (site, node, event_id, username, note, time,"
        " audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (*key, user, note, when, audit_hash),
    )
