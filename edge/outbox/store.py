"""The durable outbox: SQLite in WAL mode, one delivery row per message and destination.

A message is *accepted* once :meth:`Outbox.put` returns: it is on disk (``synchronous=FULL``)
and survives ``kill -9`` and power loss. It leaves when every destination it was meant for has
acknowledged it (MQTT PUBACK), when its time to live runs out, or when its class is over its
size cap (oldest first); expiries and evictions are counted and reported, never silent.

The file is checked (SQLite ``quick_check``) at start and by :meth:`Outbox.check`; a damaged
file, one deleted or swapped while the node runs (or missing at start though the node had
one) is rebuilt from what can still be read, the old one kept for forensics, and each such
loss reported (:meth:`Outbox.take_reports`): :mod:`edge.outbox.file`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge.config.transport import OutboxConfig
from edge.core.errors import OutboxError
from edge.core.logs import get_logger
from edge.outbox.file import CHECK_INTERVAL_S, OutboxFile
from edge.outbox.guard import Recovery
from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.reserve import SpaceReserve
from edge.outbox.salvage import Route
from edge.outbox.schema import COLUMNS, INSERT, SqlValue, row, values

log = get_logger(__name__)
T = TypeVar("T")


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


class Outbox:
    """Thread-safe durable queue. One connection, serialised by a lock. *route* says who a
    message may go to when its delivery rows are lost in a damaged file (the policy)."""

    def __init__(
        self,
        path: str | Path,
        limits: Mapping[Priority, ClassLimits] | None = None,
        *,
        reserve_bytes: int = 0,
        route: Route | None = None,
        check_interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        if self.path.is_dir():
            raise OutboxError(f"{self.path}: is a directory, not an outbox file")
        self.reserve = SpaceReserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self.reserve.hold()
        self.file = OutboxFile(self.path, route, check_interval_s)

    # -- the file ---------------------------------------------------------------------------

    @property
    def recovered(self) -> dict[str, Any] | None:
        """The latest damaged or lost file this run (heartbeat ``storage.outbox_recovered``)."""
        return self.file.recovered

    @property
    def recoveries(self) -> list[Recovery]:
        """Every damaged or lost file this run, oldest first."""
        return self.file.recoveries

    @property
    def _db(self) -> sqlite3.Connection:
        return self.file.db

    def _do(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self.file.do(what, fn)

    def check(self, now: float | None = None) -> None:
        """Periodic (housekeeping): the file deleted or swapped, damaged (``quick_check``
        every ``check_interval_s``), and its count beside it (:class:`OutboxFile`)."""
        self.file.check(now)

    def take_reports(self) -> list[Recovery]:
        """The recoveries not yet reported (each once), oldest first."""
        return self.file.take_reports()

    def close(self) -> None:
        """Record the count beside the file and close the database."""
        self.file.close()

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
        """Store several messages in one transaction (one disk flush): all or none. An alarm
        that finds the disk full first rewinds the WAL (a checkpoint: later commits reuse
        its space instead of growing it), then takes the reserve a step at a time until it
        fits."""
        if not destinations:
            return [None] * len(messages)

        def store() -> list[int | None]:
            return self._do("store", lambda db: self._put_many(db, messages, destinations))

        try:
            return store()
        except sqlite3.Error as e:
            err: sqlite3.Error = e
            urgent = any(m.priority is Priority.ALARM for m in messages)
            freed = -1  # the first try only rewinds the WAL
            while urgent and _disk_full(err) and freed != 0:
                if freed > 0:
                    log.warning("outbox.reserve_released", path=str(self.path), bytes=freed,
                                left=self.reserve.bytes_held)  # fmt: skip
                with self.file.lock, contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                try:
                    return store()
                except sqlite3.Error as again:
                    err = again
                freed = self.reserve.release_step()
            first = messages[0].id if messages else "-"
            raise OutboxError(f"{self.path}: cannot store message {first}: {err}") from err

    def _put_many(
        self, db: sqlite3.Connection, messages: Sequence[OutboxMessage], destinations: Sequence[str]
    ) -> list[int | None]:
        try:
            db.execute("BEGIN IMMEDIATE")
            seqs: list[int | None] = [self._insert(db, m, destinations) for m in messages]
            for prio in {m.priority for m in messages}:
                self._enforce_cap(db, prio)
            db.execute("COMMIT")
        except sqlite3.Error:
            self._rollback(db)
            raise
        return seqs

    def _insert(self, db: sqlite3.Connection, m: OutboxMessage, destinations: Sequence[str]) -> int:
        expires = m.expires
        ttl = self.limits[m.priority].ttl_s
        if expires is None and ttl > 0:
            expires = m.created + ttl
        cur = db.execute(INSERT + " ON CONFLICT(id) DO NOTHING", values(m, expires))
        if cur.rowcount == 0:  # already stored: putting is idempotent
            return int(db.execute("SELECT seq FROM message WHERE id=?", (m.id,)).fetchone()[0])
        seq = int(cur.lastrowid or 0)
        db.executemany(
            "INSERT INTO delivery(destination, seq, priority) VALUES (?,?,?)",
            [(d, seq, int(m.priority)) for d in dict.fromkeys(destinations)],
        )
        return seq

    def _enforce_cap(self, db: sqlite3.Connection, priority: Priority) -> None:
        cap = self.limits[priority].max_messages
        (count,) = db.execute(
            "SELECT COUNT(*) FROM message WHERE priority=?", (int(priority),)
        ).fetchone()
        excess = int(count) - cap
        if excess > 0:
            rows = db.execute(
                "SELECT seq, id FROM message WHERE priority=? ORDER BY seq LIMIT ?",
                (int(priority), excess),
            ).fetchall()
            db.executemany("DELETE FROM message WHERE seq=?", [(r[0],) for r in rows])
            self._counted(db, f"evicted.{priority.name.lower()}", len(rows))
            log.warning("outbox.evicted", cls=priority.name.lower(), messages=len(rows),
                        cap=cap, oldest=rows[0][1])  # fmt: skip

    @staticmethod
    def _counted(db: sqlite3.Connection, name: str, n: int) -> None:
        db.execute(
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
        held: Collection[tuple[Priority, str]] = (),
    ) -> list[Pending]:
        """Up to *limit* unexpired messages for *destination*, most urgent first, oldest
        first within a class, leaving out *skip* (in flight), classes after *max_priority*,
        the classes in *exclude* and the (class, topic family) pairs in *held* (waiting
        behind a refused message: ``(CLIP, "snapshots")`` holds snapshots, not clips)."""
        skipped = set(skip)
        top = int(Priority.HEALTH if max_priority is None else max_priority)
        out_cls = sorted({int(p) for p in exclude}) or [-1]
        sql = (
            f"SELECT {COLUMNS} FROM delivery d JOIN message m ON m.seq = d.seq"  # noqa: S608
            f" WHERE d.destination = ? AND d.priority <= ?"
            f" AND d.priority NOT IN ({','.join('?' * len(out_cls))})"
            " AND (m.expires IS NULL OR m.expires > ?)"
        )
        args: list[SqlValue] = [destination, top, *out_cls, time.time()]
        for prio, family in sorted(held):
            sql += " AND NOT (d.priority = ? AND (m.topic = ? OR m.topic GLOB ?))"
            args += [int(prio), family, f"{family}/*"]
        sql += " ORDER BY d.priority, d.seq LIMIT ?"
        args.append(limit + len(skipped))
        rows = self._do("read", lambda db: db.execute(sql, args).fetchall())
        return [row(r) for r in rows if r[0] not in skipped][:limit]

    def ack(self, destination: str, seqs: Iterable[int]) -> None:
        """Mark *seqs* delivered to *destination*; a message delivered everywhere is removed."""
        items = [(destination, s) for s in seqs if s > 0]
        if not items:
            return

        def tx(db: sqlite3.Connection) -> None:
            try:
                # An acknowledgement lost to a power cut only means the message goes again
                # (receivers drop duplicates by id), so it need not wait for the disk: the
                # next durable put flushes it along.
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("BEGIN IMMEDIATE")
                db.executemany("DELETE FROM delivery WHERE destination=? AND seq=?", items)
                db.executemany(
                    "DELETE FROM message WHERE seq=? AND NOT EXISTS"
                    " (SELECT 1 FROM delivery WHERE delivery.seq = message.seq)",
                    [(s,) for _, s in items],
                )
                db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback(db)
                raise
            finally:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("PRAGMA synchronous=FULL")

        try:
            self._do("record delivery", tx)
        except sqlite3.Error as e:
            raise OutboxError(f"{self.path}: cannot record delivery: {e}") from e

    def drop(self, seqs: Iterable[int], reason: str) -> None:
        """Remove messages that can never be delivered (their file is gone); counted."""
        items = [(s,) for s in seqs]
        if not items:
            return

        def tx(db: sqlite3.Connection) -> None:
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("DELETE FROM message WHERE seq=?", items)
                self._counted(db, f"dropped.{reason}", len(items))
                db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback(db)
                raise

        self._do("drop", tx)

    def expire(self, now: float | None = None) -> int:
        """Delete messages past their time to live; returns how many (counted per class)."""
        t = time.time() if now is None else now

        def tx(db: sqlite3.Connection) -> list[tuple[int, int]]:
            try:
                db.execute("BEGIN IMMEDIATE")
                rows = db.execute(
                    "SELECT priority, COUNT(*) FROM message WHERE expires IS NOT NULL"
                    " AND expires <= ? GROUP BY priority",
                    (t,),
                ).fetchall()
                db.execute("DELETE FROM message WHERE expires IS NOT NULL AND expires <= ?", (t,))
                for prio, n in rows:
                    self._counted(db, f"expired.{Priority(prio).name.lower()}", int(n))
                db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback(db)
                raise
            return rows

        return sum(int(n) for _, n in self._do("expire", tx))

    # -- reporting --------------------------------------------------------------------------

    def depth(self) -> dict[str, dict[str, int]]:
        """Messages awaiting delivery: ``{destination: {class name: count}}``."""
        rows = self._do("read", lambda db: db.execute(
            "SELECT destination, priority, COUNT(*) FROM delivery GROUP BY destination, priority"
        ).fetchall())  # fmt: skip
        out: dict[str, dict[str, int]] = {}
        for dest, prio, n in rows:
            out.setdefault(dest, {})[Priority(prio).name.lower()] = n
        return out

    def counters(self) -> dict[str, int]:
        """Evictions, expiries, drops and recovery losses since the outbox was created."""
        rows = self._do("read", lambda db: db.execute("SELECT name, value FROM counter").fetchall())
        return {str(k): int(v) for k, v in rows}

    def remaining(self, id_prefix: str) -> int:
        """Messages still stored whose id starts with *id_prefix* (a clip's chunks)."""
        sql = "SELECT COUNT(*) FROM message WHERE id >= ? AND id < ?"
        args = (id_prefix, id_prefix + "\uffff")
        return int(self._do("read", lambda db: db.execute(sql, args).fetchone()[0]))

    def total(self) -> int:
        """Messages stored (delivered to some but not all destinations included)."""
        sql = "SELECT COUNT(*) FROM message"
        return int(self._do("read", lambda db: db.execute(sql).fetchone()[0]))

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
