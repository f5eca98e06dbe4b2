"""The presence columns of the ``nodes`` table: whether a node is online, since when it is
offline and why, when its last status arrived and which connection it came from (the rules
that read and write them: :mod:`edge.receiver.presence`)."""

from __future__ import annotations

from typing import Any

from edge.receiver.store.database import Cursor, Database


def status_of(cur: Cursor, site: str, node: str) -> tuple[int, float | None, float | None] | None:
    """(online, offline_since, status_connected) of an enrolled node (None: not enrolled)."""
    row = cur.execute(
        "SELECT online, offline_since, status_connected FROM nodes WHERE site = ? AND node = ?",
        (site, node),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def mark_online(cur: Cursor, site: str, node: str, now: float, connected: float | None) -> None:
    """The node said it is online at *now* (its connection *connected*, when it said)."""
    cur.execute(
        "UPDATE nodes SET online = 1, status_time = ?, offline_since = NULL,"
        " offline_cause = NULL, status_connected = COALESCE(?, status_connected)"
        " WHERE site = ? AND node = ?",
        (now, connected, site, node),
    )


def mark_offline(
    cur: Cursor, key: tuple[str, str], now: float, *, since: float, cause: str,
    connected: float | None,
) -> None:  # fmt: skip
    """Node *key* (site, node) went offline at *since* for *cause*, as a status that
    arrived at *now* says."""
    cur.execute(
        "UPDATE nodes SET online = 0, status_time = ?, offline_since = ?, offline_cause = ?,"
        " status_connected = COALESCE(?, status_connected) WHERE site = ? AND node = ?",
        (now, since, cause, connected, *key),
    )


def offline_statuses(db: Database, after: float, until: float) -> list[tuple[str, str, float]]:
    """(site, node, arrival) of the nodes whose standing ``offline`` status arrived after
    *after* and at or before *until*."""
    rows = db.query(
        "SELECT site, node, status_time FROM nodes"
        " WHERE online = 0 AND offline_since IS NOT NULL"
        " AND status_time > ? AND status_time <= ?",
        (after, until),
    )
    return [(str(s), str(n), float(t)) for s, n, t in rows]


def presence_of(db: Database, site: str, node: str) -> tuple[Any, Any, Any, Any] | None:
    """(online, offline_since, offline_cause, status_time) of a node (None: not enrolled)."""
    rows = db.query(
        "SELECT online, offline_since, offline_cause, status_time FROM nodes"
        " WHERE site = ? AND node = ?",
        (site, node),
    )
    return None if not rows else (rows[0][0], rows[0][1], rows[0][2], rows[0][3])


def silent_since(db: Database, cutoff: float) -> list[tuple[str, str, float]]:
    """(site, node, last heard) of every enrolled node last heard (or, never heard,
    enrolled) before *cutoff*."""
    rows = db.query(
        "SELECT site, node, COALESCE(last_seen, enrolled) FROM nodes"
        " WHERE COALESCE(last_seen, enrolled) < ?",
        (cutoff,),
    )
    return [(str(s), str(n), float(t)) for s, n, t in rows]
