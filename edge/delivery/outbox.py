"""The durable outbox: SQLite in WAL mode, one delivery row per message and destination.

A message is *accepted* once :meth:`Outbox.put` returns: it is on disk (``synchronous=FULL``)
and survives ``kill -9`` and power loss. It leaves when every destination it was meant for has
acknowledged it (MQTT PUBACK), when its time to live runs out, or when its class is over its
size cap (oldest first); expiries and evictions are counted and reported, never silent.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config.transport import OutboxConfig
from edge.core.errors import OutboxError
from edge.core.logs import get_logger
from edge.delivery.message import OutboxMessage, Pending, Priority
from edge.delivery.reserve import SpaceReserve

log = get_logger(__name__)

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
"""
_COLUMNS = (
    "m.seq, m.id, m.priority, m.kind, m.topic, m.payload, m.created, m.expires, "
    "m.retain, m.file, m.offset, m.length, m.properties"
)


@dataclass(frozen=True)
class ClassLimits:
    """Time to live (0: forever) and size cap of one priority class."""

    ttl_s: float
    max_messages: int


def _disk_full(e: sqlite3.Error) -> bool:
    return "full" in str(e).lower() or getattr(e, "sqlite_errorcode", 0) == sqlite3.SQLITE_FULL


def limits_from(cfg: OutboxConfig) -> dict[Priority, ClassLimits]:
    """Each class's limits as configured."""
    classes = ((Priority.ALARM, cfg.alarm), (Priority.EVENT, cfg.event),
               (Priority.CLIP, cfg.clip), (Priority.HEALTH, cfg.health))  # fmt: skip
    return {p: ClassLimits(c.ttl_s, c.max_messages) for p, c in classes}


DEFAULT_LIMITS = {
    Priority.ALARM: ClassLimits(0, 1_000_000),
    Priority.EVENT: ClassLimits(14 * 86400, 1_000_000),
    Priority.CLIP: ClassLimits(7 * 86400, 200_000),
    Priority.HEALTH: ClassLimits(900, 200),
}


def _row(r: Any) -> Pending:
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


class Outbox:
    """Thread-safe durable queue. One connection, serialised by a lock."""

    def __init__(
        self,
        path: str | Path,
        limits: Mapping[Priority, ClassLimits] | None = None,
        *,
        reserve_bytes: int = 0,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._lock = threading.Lock()
        self.reserve = SpaceReserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self.reserve.hold()
        self.recovered: dict[str, str] | None = None
        """Set when a corrupt outbox was moved aside at start: its new name and why."""
        if self.path.is_dir():
            raise OutboxError(f"{self.path}: is a directory, not an outbox file")
        if self.path.exists() and self.path.stat().st_size == 0:
            self._set_aside("empty file (queued messages were lost before this start)")
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as e:
            self._set_aside(str(e))
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as again:
                raise OutboxError(f"{self.path}: cannot open outbox: {again}") from again

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM message").fetchone()  # reads the pages: corrupt?
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _set_aside(self, why: str) -> None:
        """Keep a corrupt outbox for forensics under a new name; a fresh one is started so
        alarms still flow. Reported in the log and (via ``recovered``) the heartbeat."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        kept = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(Path(f"{kept}{suffix}"))
        self.recovered = {"kept_as": str(kept), "reason": why}
        log.error("outbox.corrupt_set_aside", path=str(self.path), kept_as=str(kept), reason=why)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- accepting --------------------------------------------------------------------------

    def put(self, message: OutboxMessage, destinations: Sequence[str]) -> int | None:
        """Store *message* for *destinations*; durable when this returns.

        Returns its sequence number, or None when no destination may receive it. Putting an id
        that is already stored is a no-op that returns the stored sequence number. A class
        over its cap loses its oldest message (counted).
        """
        return self.put_many([message], destinations)[0]

    def put_many(
        self, messages: Sequence[OutboxMessage], destinations: Sequence[str]
    ) -> list[int | None]:
        """Store several messages in one transaction (one disk flush): all or none."""
        if not destinations:
            return [None] * len(messages)
        try:
            return self._put_many(messages, destinations)
        except sqlite3.Error as e:
            urgent = any(m.priority is Priority.ALARM for m in messages)
            if urgent and _disk_full(e) and self.reserve.release():  # alarms take the reserve
                log.warning("outbox.reserve_released", path=str(self.path), bytes=self.reserve.size)
                try:
                    return self._put_many(messages, destinations)
                except sqlite3.Error as again:
                    e = again
            first = messages[0].id if messages else "-"
            raise OutboxError(f"{self.path}: cannot store message {first}: {e}") from e

    def _put_many(
        self, messages: Sequence[OutboxMessage], destinations: Sequence[str]
    ) -> list[int | None]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                seqs: list[int | None] = [self._insert(m, destinations) for m in messages]
                for prio in {m.priority for m in messages}:
                    self._enforce_cap(prio)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        return seqs

    def _insert(self, m: OutboxMessage, destinations: Sequence[str]) -> int:
        expires = m.expires
        ttl = self.limits[m.priority].ttl_s
        if expires is None and ttl > 0:
            expires = m.created + ttl
        cur = self._db.execute(
            "INSERT INTO message(id, priority, kind, topic, payload, retain, created, expires,"
            " file, offset, length, properties) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(id) DO NOTHING",
            (
                m.id,
                int(m.priority),
                m.kind,
                m.topic,
                m.payload,
                int(m.retain),
                m.created,
                expires,
                m.file,
                m.offset,
                m.length,
                json.dumps(list(m.properties)),
            ),
        )
        if cur.rowcount == 0:  # already stored: putting is idempotent
            return int(
                self._db.execute("SELECT seq FROM message WHERE id=?", (m.id,)).fetchone()[0]
            )
        seq = int(cur.lastrowid or 0)
        self._db.executemany(
            "INSERT INTO delivery(destination, seq, priority) VALUES (?,?,?)",
            [(d, seq, int(m.priority)) for d in dict.fromkeys(destinations)],
        )
        return seq

    def _enforce_cap(self, priority: Priority) -> None:
        cap = self.limits[priority].max_messages
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM message WHERE priority=?", (int(priority),)
        ).fetchone()
        excess = int(count) - cap
        if excess > 0:
            rows = self._db.execute(
                "SELECT seq, id FROM message WHERE priority=? ORDER BY seq LIMIT ?",
                (int(priority), excess),
            ).fetchall()
            self._db.executemany("DELETE FROM message WHERE seq=?", [(r[0],) for r in rows])
            self._count(f"evicted.{priority.name.lower()}", len(rows))
            log.warning(
                "outbox.evicted",
                cls=priority.name.lower(),
                messages=len(rows),
                cap=cap,
                oldest=rows[0][1],
            )

    def _count(self, name: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO counter(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
            " SET value = value + excluded.value",
            (name, n),
        )

    # -- delivering -------------------------------------------------------------------------

    def pending(
        self,
        destination: str,
        limit: int,
        skip: Iterable[int] = (),
        *,
        max_priority: Priority | None = None,
        exclude: Collection[Priority] = (),
    ) -> list[Pending]:
        """Up to *limit* unexpired messages for *destination*, most urgent first, oldest
        first within a class, leaving out *skip* (in flight), classes after *max_priority*
        and the classes in *exclude* (held behind a refused message)."""
        skipped = set(skip)
        top = int(Priority.HEALTH if max_priority is None else max_priority)
        held = sorted({int(p) for p in exclude}) or [-1]
        marks = ",".join("?" * len(held))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM delivery d JOIN message m ON m.seq = d.seq"  # noqa: S608
                f" WHERE d.destination = ? AND d.priority <= ? AND d.priority NOT IN ({marks})"
                " AND (m.expires IS NULL OR m.expires > ?)"
                " ORDER BY d.priority, d.seq LIMIT ?",
                (destination, top, *held, time.time(), limit + len(skipped)),
            ).fetchall()
        return [_row(r) for r in rows if r[0] not in skipped][:limit]

    def ack(self, destination: str, seqs: Iterable[int]) -> None:
        """Mark *seqs* delivered to *destination*; a message delivered everywhere is removed."""
        items = [(destination, s) for s in seqs]
        if not items:
            return
        with self._lock:
            try:
                # An acknowledgement lost to a power cut only means the message goes again
                # (receivers drop duplicates by id), so it need not wait for the disk: the next
                # durable put flushes it along.
                self._db.execute("PRAGMA synchronous=NORMAL")
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
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA synchronous=FULL")

    def drop(self, seqs: Iterable[int], reason: str) -> None:
        """Remove messages that can never be delivered (their file is gone); counted."""
        items = [(s,) for s in seqs]
        if not items:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM message WHERE seq=?", items)
            self._count(f"dropped.{reason}", len(items))
            self._db.execute("COMMIT")

    def expire(self, now: float | None = None) -> int:
        """Delete messages past their time to live; returns how many (counted per class)."""
        t = time.time() if now is None else now
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(
                "SELECT priority, COUNT(*) FROM message WHERE expires IS NOT NULL AND expires <= ?"
                " GROUP BY priority",
                (t,),
            ).fetchall()
            self._db.execute("DELETE FROM message WHERE expires IS NOT NULL AND expires <= ?", (t,))
            for prio, n in rows:
                self._count(f"expired.{Priority(prio).name.lower()}", int(n))
            self._db.execute("COMMIT")
        return sum(int(n) for _, n in rows)

    # -- reporting --------------------------------------------------------------------------

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

    def counters(self) -> dict[str, int]:
        """Evictions, expiries and drops since the outbox was created."""
        with self._lock:
            return {str(k): int(v) for k, v in self._db.execute("SELECT name, value FROM counter")}

    def remaining(self, id_prefix: str) -> int:
        """Messages still stored whose id starts with *id_prefix* (a clip's chunks)."""
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM message WHERE id >= ? AND id < ?",
                (id_prefix, id_prefix + "\uffff"),
            ).fetchone()
        return int(n)

    def total(self) -> int:
        """Messages stored (delivered to some but not all destinations included)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM message").fetchone()[0])

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
