"""The durable outbox: SQLite in WAL mode, one delivery row per message and destination.

A message is *accepted* once :meth:`Outbox.put` returns: it is on disk (``synchronous=FULL``)
and survives ``kill -9`` and power loss. It leaves when every destination it was meant for has
acknowledged it (MQTT PUBACK), when its time to live runs out, or when its class is over its
size cap (oldest first); expiries and evictions are counted and reported, never silent.

The file is checked (SQLite ``quick_check``) at start and by :meth:`Outbox.check`; a damaged
file, one deleted or swapped while the node runs (or missing at start though the node had
one) is rebuilt from what can still be read (:mod:`edge.delivery.outbox_salvage`), the old
one kept for forensics, and each such loss reported (:meth:`Outbox.take_reports`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge.config.transport import OutboxConfig
from edge.core.errors import OutboxError
from edge.core.logs import get_logger
from edge.delivery.message import OutboxMessage, Pending, Priority
from edge.delivery.outbox_guard import OutboxState, Recovery, identity, set_aside
from edge.delivery.outbox_salvage import Route, salvage, write
from edge.delivery.outbox_schema import COLUMNS, INSERT, connect, damaged, quick_check, row, values
from edge.delivery.reserve import SpaceReserve

log = get_logger(__name__)
T = TypeVar("T")

CHECK_INTERVAL_S = 60.0
"""How often :meth:`Outbox.check` runs ``quick_check`` (the file's presence: every call)."""
REBUILD_RETRY_S = 10.0
"""A damaged outbox whose rebuild failed is not rebuilt again sooner than this."""


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


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


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
        self.route = route
        self.check_interval_s = check_interval_s
        self._lock = threading.RLock()
        self.recovered: dict[str, Any] | None = None
        """The latest damaged or lost file this run: :meth:`Recovery.data` (heartbeat)."""
        self.recoveries: list[Recovery] = []
        self._reports: list[Recovery] = []
        self._rebuild_after = 0.0
        if self.path.is_dir():
            raise OutboxError(f"{self.path}: is a directory, not an outbox file")
        self.reserve = SpaceReserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self.reserve.hold()
        self._state = OutboxState.read(self.path)
        self._db = self._open_at_start()
        self._ident = identity(self.path)
        self._adopt()
        self._next_check = time.monotonic() + check_interval_s

    # -- the file ---------------------------------------------------------------------------

    def _open_at_start(self) -> sqlite3.Connection:
        last = self._state
        if not self.path.exists():
            stray = set_aside(self.path, "orphan")  # a -wal without its file: never replayed
            if last is not None:
                self._recorded(
                    Recovery(
                        "outbox file missing at start: deleted since the node last ran "
                        f"(it held {last.messages} messages when last counted)",
                        None if stray is None else str(stray), 0, last.messages, estimate=True,
                    )
                )  # fmt: skip
            return self._connect()
        if self.path.stat().st_size == 0:
            kept = set_aside(self.path)
            lost = last.messages if last else 0
            why = "empty file (queued messages were lost before this start)"
            self._recorded(Recovery(why, str(kept), 0, lost, estimate=True))
            return self._connect()
        probe = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            problem = None
            found = [str(r[0]) for r in probe.execute("PRAGMA quick_check(20)")]
            problem = None if found == ["ok"] else "; ".join(found)[:500]
        except sqlite3.DatabaseError as e:
            problem = str(e)
        if problem is None:
            probe.close()
            return self._connect()
        self._rebuild(probe, problem, "corrupt")
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            return connect(self.path)
        except sqlite3.DatabaseError as e:
            raise OutboxError(f"{self.path}: cannot open outbox: {e}") from e

    def _adopt(self) -> None:
        """Give the file the identity of the state beside it (or the state the file's)."""
        with self._lock:
            got = self._db.execute("SELECT value FROM meta WHERE name = 'id'").fetchone()
            state = self._state or OutboxState.fresh()
            if got is None:
                self._db.execute("INSERT INTO meta(name, value) VALUES ('id', ?)", (state.id,))
            elif str(got[0]) != state.id:
                if self._state is not None:
                    log.warning("outbox.replaced", path=str(self.path), expected=state.id,
                                found=str(got[0]))  # fmt: skip
                state = OutboxState(str(got[0]), 0, time.time())
            self._state = state
        self._count()

    def _count(self) -> None:
        if self._state is not None:
            self._state = OutboxState(self._state.id, self.total(), time.time())
            self._state.write(self.path)

    def _recorded(self, r: Recovery) -> None:
        self.recoveries.append(r)
        self._reports.append(r)
        self.recovered = r.data()
        log.error("outbox.recovered", path=str(self.path), **r.data())

    def _rebuild(self, src: sqlite3.Connection, reason: str, label: str) -> None:
        """Rebuild the outbox from what *src* can still read; the old file is kept as
        ``NAME.LABEL-STAMP``. Nothing is moved when the rebuild itself fails."""
        last = self._state
        tmp = self.path.with_name(self.path.name + ".rebuild")
        _remove(tmp)
        found = salvage(src, self.route)
        try:
            new = connect(tmp)
            try:
                write(new, found, "lost.recovery")
                ident = last.id if last is not None else OutboxState.fresh().id
                new.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('id', ?)", (ident,))
            finally:
                new.close()
        except (sqlite3.Error, OSError) as e:
            _remove(tmp)
            log.error("outbox.rebuild_failed", path=str(self.path), reason=reason, error=str(e))
            raise OutboxError(f"{self.path}: damaged ({reason}); cannot rebuild it: {e}") from e
        with contextlib.suppress(sqlite3.Error):
            src.close()
        kept = set_aside(self.path, label)
        os.replace(tmp, self.path)
        recovered, lost = len(found.routed), len(found.known) - len(found.routed)
        estimate = False
        if not found.known and last is not None and last.messages:
            lost, estimate = last.messages, True  # nothing readable: the last count
        kept_as = None if kept is None else str(kept)
        ids = tuple(found.lost_ids)
        self._recorded(Recovery(reason, kept_as, recovered, lost, ids, estimate))

    def _recover(self, reason: str, label: str) -> None:
        """Rebuild from the open connection (held lock): it still reads a file that was
        deleted, and the pages of a damaged one that are intact. A rebuild that failed (no
        room for the new file) is tried again at most every ``REBUILD_RETRY_S``."""
        if time.monotonic() < self._rebuild_after:
            raise OutboxError(f"{self.path}: {reason}; to be rebuilt when there is room")
        try:
            self._rebuild(self._db, reason, label)
        except OutboxError:
            self._rebuild_after = time.monotonic() + REBUILD_RETRY_S
            raise
        self._db = self._connect()
        self._ident = identity(self.path)

    def _same_file(self) -> None:
        """Rebuild from the open connection when the file at the path is not the one open."""
        here = identity(self.path)
        if here != self._ident:
            why = "deleted while the node ran" if here is None else "replaced while the node ran"
            self._recover(f"outbox file {why}", "replaced")

    def _do(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run *fn* on the connection; a damaged or vanished file is rebuilt and *fn* run
        once more on the new one. A file deleted or swapped is rebuilt before *fn* runs
        (SQLite would write into the deleted file without a word: lost at the next start)."""
        with self._lock:
            self._same_file()
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as e:
                if not damaged(e):
                    raise
                gone = identity(self.path) != self._ident
                why = "deleted or replaced while the node ran" if gone else "damaged"
                self._recover(f"{what}: {why}: {e}", "replaced" if gone else "corrupt")
            return fn(self._db)

    def check(self, now: float | None = None) -> None:
        """Periodic (housekeeping): a file deleted or swapped is rebuilt from the open
        connection at once; every ``check_interval_s`` a ``quick_check`` (on a connection of
        its own: writers go on) and the count in the state file."""
        t = time.monotonic() if now is None else now
        with self._lock:
            self._same_file()
        if t < self._next_check:
            return
        self._next_check = t + self.check_interval_s
        problem = quick_check(self.path)
        if problem is not None:
            with self._lock:
                self._recover(f"quick_check: {problem}", "corrupt")
        self._count()

    def take_reports(self) -> list[Recovery]:
        """The recoveries not yet reported (each once), oldest first."""
        with self._lock:
            out, self._reports = self._reports, []
        return out

    def close(self) -> None:
        """Record the count beside the file and close the database."""
        with contextlib.suppress(sqlite3.Error, OutboxError):
            self._count()
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
                with self._lock, contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(RESTART)")
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
        args: list[Any] = [destination, top, *out_cls, time.time()]
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

        def tx(db: sqlite3.Connection) -> list[Any]:
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
