"""The PostgreSQL session advisory lock a ``failover = "standby"`` receiver leads by (the
election itself: :mod:`edge.receiver.leader`). *conn* is the election's own psycopg
connection in autocommit: the lock lives exactly as long as it."""

from __future__ import annotations

from typing import Any


def try_lock(conn: Any, lock_class: int, key: int) -> bool:
    """Take the lock (*lock_class*, *key*) if nobody holds it; True when this connection
    holds it now. psycopg's errors pass through."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (lock_class, key)).fetchone()
    return bool(row and row[0])


def ping(conn: Any) -> None:
    """A round trip on *conn* (raises when the connection, and so the lock, is gone)."""
    conn.execute("SELECT 1").fetchone()
