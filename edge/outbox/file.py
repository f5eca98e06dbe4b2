"""The outbox's file, kept sound: SQLite ``quick_check`` at start and by :meth:`OutboxFile.check`,
the file's identity against the state beside it, and a damaged file, one deleted or swapped
while the node runs (or missing at start though the node had one) rebuilt from what can
still be read (:mod:`edge.outbox.salvage`), the old one kept for forensics and each
loss reported (:meth:`OutboxFile.take_reports`). Every statement of the outbox runs through
:meth:`OutboxFile.do`."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edge.core.errors import OutboxError
from edge.core.logs import get_logger
from edge.outbox.guard import OutboxState, Recovery, identity, set_aside
from edge.outbox.salvage import Route, salvage, write
from edge.outbox.schema import connect, damaged, quick_check

log = get_logger(__name__)
T = TypeVar("T")

CHECK_INTERVAL_S = 60.0
"""How often :meth:`OutboxFile.check` runs ``quick_check`` (the file's presence: every call)."""
REBUILD_RETRY_S = 10.0
"""A damaged outbox whose rebuild failed is not rebuilt again sooner than this."""


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


class OutboxFile:
    """The SQLite file at *path* and its one connection, serialised by :attr:`lock`. *route*
    says who a message may go to when its delivery rows are lost in a damaged file."""

    def __init__(
        self, path: Path, route: Route | None = None, check_interval_s: float = CHECK_INTERVAL_S
    ) -> None:
        self.path = path
        self.route = route
        self.check_interval_s = check_interval_s
        self.lock = threading.RLock()
        self.recovered: dict[str, Any] | None = None
        """The latest damaged or lost file this run: :meth:`Recovery.data` (heartbeat)."""
        self.recoveries: list[Recovery] = []
        self._reports: list[Recovery] = []
        self._rebuild_after = 0.0
        self._state = OutboxState.read(self.path)
        self.db = self._open_at_start()
        self._ident = identity(self.path)
        self._adopt()
        self._next_check = time.monotonic() + check_interval_s

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
        with self.lock:
            got = self.db.execute("SELECT value FROM meta WHERE name = 'id'").fetchone()
            state = self._state or OutboxState.fresh()
            if got is None:
                self.db.execute("INSERT INTO meta(name, value) VALUES ('id', ?)", (state.id,))
            elif str(got[0]) != state.id:
                if self._state is not None:
                    log.warning("outbox.replaced", path=str(self.path), expected=state.id,
                                found=str(got[0]))  # fmt: skip
                state = OutboxState(str(got[0]), 0, time.time())
            self._state = state
        self.count()

    def count(self) -> None:
        """Write how many messages the outbox holds beside it (its state)."""
        if self._state is not None:
            sql = "SELECT COUNT(*) FROM message"
            total = int(self.do("count", lambda db: db.execute(sql).fetchone()[0]))
            self._state = OutboxState(self._state.id, total, time.time())
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
            self._rebuild(self.db, reason, label)
        except OutboxError:
            self._rebuild_after = time.monotonic() + REBUILD_RETRY_S
            raise
        self.db = self._connect()
        self._ident = identity(self.path)

    def _same_file(self) -> None:
        """Rebuild from the open connection when the file at the path is not the one open."""
        here = identity(self.path)
        if here != self._ident:
            why = "deleted while the node ran" if here is None else "replaced while the node ran"
            self._recover(f"outbox file {why}", "replaced")

    def do(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run *fn* on the connection; a damaged or vanished file is rebuilt and *fn* run
        once more on the new one. A file deleted or swapped is rebuilt before *fn* runs
        (SQLite would write into the deleted file without a word: lost at the next start)."""
        with self.lock:
            self._same_file()
            try:
                return fn(self.db)
            except sqlite3.DatabaseError as e:
                if not damaged(e):
                    raise
                gone = identity(self.path) != self._ident
                why = "deleted or replaced while the node ran" if gone else "damaged"
                self._recover(f"{what}: {why}: {e}", "replaced" if gone else "corrupt")
            return fn(self.db)

    def check(self, now: float | None = None) -> None:
        """Periodic (housekeeping): a file deleted or swapped is rebuilt from the open
        connection at once; every ``check_interval_s`` a ``quick_check`` (on a connection of
        its own: writers go on) and the count in the state file."""
        t = time.monotonic() if now is None else now
        with self.lock:
            self._same_file()
        if t < self._next_check:
            return
        self._next_check = t + self.check_interval_s
        problem = quick_check(self.path)
        if problem is not None:
            with self.lock:
                self._recover(f"quick_check: {problem}", "corrupt")
        self.count()

    def take_reports(self) -> list[Recovery]:
        """The recoveries not yet reported (each once), oldest first."""
        with self.lock:
            out, self._reports = self._reports, []
        return out

    def close(self) -> None:
        """Record the count beside the file and close the database."""
        with contextlib.suppress(sqlite3.Error, OutboxError):
            self.count()
        with self.lock:
            self.db.close()
