"""The outbox's SQLite file: its tables, how a row becomes a message, how the file is made
(owner-only: ``0600``, which SQLite copies to the ``-wal`` and ``-shm`` files) and which
SQLite errors mean the file itself is damaged or gone."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from edge.outbox.message import OutboxMessage, Pending, Priority

FILE_MODE = 0o600
"""The outbox and its ``-wal``/``-shm`` files: the node's queued evidence, owner only."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS message(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    expires REAL,
    file TEXT,
    offset INTEGER NOT NULL DEFAULT 0,
    length INTEGER NOT NULL DEFAULT 0,
    properties TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS message_class ON message(priority, seq);
CREATE INDEX IF NOT EXISTS message_expiry ON message(expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS delivery(
    destination TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES message(seq) ON DELETE CASCADE,
    priority INTEGER NOT NULL,
    PRIMARY KEY(destination, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_order ON delivery(destination, priority, seq);
CREATE TABLE IF NOT EXISTS counter(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
MESSAGE_COLUMNS = (
    "seq, id, priority, kind, topic, payload, created, expires, "
    "retain, file, offset, length, properties"
)
COLUMNS = ", ".join(f"m.{c.strip()}" for c in MESSAGE_COLUMNS.split(","))

SqlValue = int | float | str | bytes | None
"""A value SQLite stores (a column of a row, a parameter of a statement)."""

_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_MOVED = 1032  # SQLITE_READONLY_DBMOVED: the file was deleted or renamed while open


def row(r: Any) -> Pending:
    """A stored row (``COLUMNS`` order) as a pending message; raises on a row that is not
    one (garbage in a damaged page)."""
    return Pending(
        seq=int(r[0]),
        message=OutboxMessage(
            id=str(r[1]),
            priority=Priority(r[2]),
            kind=str(r[3]),
            topic=str(r[4]),
            payload=bytes(r[5]),
            created=float(r[6]),
            expires=None if r[7] is None else float(r[7]),
            retain=bool(r[8]),
            file=None if r[9] is None else str(r[9]),
            offset=int(r[10]),
            length=int(r[11]),
            properties=tuple((str(k), str(v)) for k, v in json.loads(str(r[12]))),
        ),
    )


def values(m: OutboxMessage, expires: float | None) -> tuple[SqlValue, ...]:
    """The ``message`` columns after ``seq`` for *m* (``expires`` as decided by the caller)."""
    return (
        m.id, int(m.priority), m.kind, m.topic, m.payload, int(m.retain), m.created, expires,
        m.file, m.offset, m.length, json.dumps(list(m.properties)),
    )  # fmt: skip


INSERT = (
    "INSERT INTO message(id, priority, kind, topic, payload, retain, created, expires,"
    " file, offset, length, properties) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def damaged(e: sqlite3.Error) -> bool:
    """True when *e* says the file is damaged (malformed, not a database) or was deleted or
    moved while open: the outbox must be rebuilt, not retried."""
    code = getattr(e, "sqlite_errorcode", None)
    if code in _CORRUPT or code == _MOVED:
        return True
    text = str(e).lower()
    return "malformed" in text or "not a database" in text


def secure(path: Path) -> None:
    """Create *path* empty and owner-only when missing (SQLite then makes its ``-wal`` and
    ``-shm`` with the same mode); narrow an existing file and its companions to 0600."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", FILE_MODE)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in the outbox's modes (WAL, every commit flushed, cascades on) with the
    schema made; raises ``sqlite3.DatabaseError`` for a file that is not a readable one."""
    secure(path)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def quick_check(path: Path) -> str | None:
    """SQLite's ``quick_check`` of the file at *path* on a connection of its own (WAL lets
    it read while the outbox writes): None when sound, else what it found (first lines). An
    error that does not say the file is damaged (busy, cannot open now) is no finding."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            found = [str(r[0]) for r in db.execute("PRAGMA quick_check(20)")]
        finally:
            db.close()
    except sqlite3.Error as e:
        return str(e) if damaged(e) else None
    return None if found == ["ok"] else "; ".join(found)[:500]
