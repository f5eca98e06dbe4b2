"""The PostgreSQL session advisory lock a ``failover = "standby"`` receiver leads by (the
election itself: :mod:`edge.receiver.leader`). *conn* is the election's own psycopg
connection in autocommit: the lock lives exactly as long as it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString, Protocol


class _Rows(Protocol):
    def fetchone(self) -> Sequence[object] | None: ...


class LockConnection(Protocol):
    """What the election uses of its psycopg connection."""

    def execute(self, query: LiteralString, params: tuple[int, int] | None = None, /) -> _Rows:
        """Run one statement."""
        ...


def try_lock(conn: LockConnection, lock_class: int, key: int) -> bool:
    """Take the lock (*lock_class*, *key*) if nobody holds it; True when this connection
    holds it now. psycopg's errors pass through."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (lock_class, key)).fetchone()
    return bool(row and row[0])


def ping(conn: LockConnection | None) -> None:
    """A round trip on *conn* (raises when the connection, and so the lock, is gone;
    AttributeError when there is none)."""
    if conn is None:
        raise AttributeError("the election has no connection")
    conn.execute("SELECT 1").fetchone()
