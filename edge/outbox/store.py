"""The durable outbox: SQLite in WAL mode, one delivery row per message and destination.

A message is *accepted* once :meth:`Outbox.put` returns: it is on disk (``synchronous=FULL``)
and survives ``kill -9`` and power loss. It leaves only when every destination it was meant
for has acknowledged it (MQTT PUBACK).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from edge.outbox.message import OutboxMessage, Pending, Priority

_SCHEMA = """
CREATE TABLE IF NOT EXISTS message(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    expires REAL
);
CREATE TABLE IF NOT EXISTS delivery(
    destination TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES message(seq) ON DELETE CASCADE,
    priority INTEGER NOT NULL,
    PRIMARY KEY(destination, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_order ON delivery(destination, priority, seq);
"""


class OutboxError(Exception):
    """The outbox cannot accept or return messages (disk full, corrupt file)."""


class Outbox:
    """Thread-safe durable queue. One connection, serialised by a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise OutboxError(f"{self.path}: cannot open outbox: {e}") from e

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def put(self, message: OutboxMessage, destinations: Sequence[str]) -> int | None:
        """Store *message* for *destinations*; durable when this returns.

        Returns its sequence number, or None when no destination may receive it. Putting an id
        that is already stored is a no-op that returns the stored sequence number.
        """
        if not destinations:
            return None
        m = message
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute(
                    "INSERT INTO message(id, priority, kind, topic, payload, retain, created,"
                    " expires) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING",
                    (
                        m.id,
                        int(m.priority),
                        m.kind,
                        m.topic,
                        m.payload,
                        int(m.retain),
                        m.created,
                        m.expires,
                    ),
                )
                if cur.rowcount == 0:
                    row = self._db.execute("SELECT seq FROM message WHERE id=?", (m.id,)).fetchone()
                    self._db.execute("COMMIT")
                    return int(row[0])
                seq = int(cur.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO delivery(destination, seq, priority) VALUES (?,?,?)",
                    [(d, seq, int(m.priority)) for d in dict.fromkeys(destinations)],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot store message {m.id}: {e}") from e
        return seq

    def pending(self, destination: str, limit: int, skip: Iterable[int] = ()) -> list[Pending]:
        """Up to *limit* messages for *destination*, most urgent first, oldest first within
        a class, leaving out the sequence numbers in *skip* (already in flight)."""
        skipped = set(skip)
        with self._lock:
            rows = self._db.execute(
                "SELECT m.seq, m.id, m.priority, m.kind, m.topic, m.payload, m.created,"
                " m.expires, m.retain FROM delivery d JOIN message m ON m.seq = d.seq"
                " WHERE d.destination = ? ORDER BY d.priority, d.seq LIMIT ?",
                (destination, limit + len(skipped)),
            ).fetchall()
        out = [
            Pending(
                seq=r[0],
                message=OutboxMessage(
                    id=r[1],
                    priority=Priority(r[2]),
                    kind=r[3],
                    topic=r[4],
                    payload=bytes(r[5]),
                    created=r[6],
                    expires=r[7],
                    retain=bool(r[8]),
                ),
            )
            for r in rows
            if r[0] not in skipped
        ]
        return out[:limit]

    def ack(self, destination: str, seqs: Iterable[int]) -> None:
        """Mark *seqs* delivered to *destination*; a message delivered everywhere is removed."""
        items = [(destination, s) for s in seqs]
        if not items:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM delivery WHERE destination=? AND seq=?", items)
                self._db.executemany(
                    "DELETE FROM message WHERE seq=? AND NOT EXISTS"
                    " (SELECT 1 FROM delivery WHERE delivery.seq = message.seq)",
                    [(s,) for _, s in items],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise OutboxError(f"{self.path}: cannot record delivery: {e}") from e

    def depth(self) -> dict[str, dict[str, int]]:
        """Messages awaiting delivery: ``{destination: {class name: count}}``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT destination, priority, COUNT(*) FROM delivery"
                " GROUP BY destination, priority"
            ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for dest, prio, n in rows:
            out.setdefault(dest, {})[Priority(prio).name.lower()] = n
        return out

    def total(self) -> int:
        """Messages stored (delivered to some but not all destinations included)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM message").fetchone()[0])

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
