"""A connection to SQLite or PostgreSQL with one way of writing SQL: ``?`` placeholders,
transactions as context managers, and the schema migrated on open."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edge.core.errors import EdgeError
from edge.receiver.store.schema import BACKFILLS, MIGRATIONS, TYPES

if TYPE_CHECKING:
    import psycopg  # an optional extra: [receiver]
    from psycopg.rows import TupleRow


class StoreError(EdgeError):
    """The store cannot be opened or written."""


QUICK_CHECK_ROWS = 20
"""Problems ``PRAGMA quick_check`` reports at most (the first few name the damage)."""


class DriverCursor(Protocol):
    """What the store uses of a driver's cursor (``sqlite3.Cursor``, ``psycopg.Cursor``)."""

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        ...

    def execute(self, query: str, params: tuple[object, ...], /) -> object:
        """Run one statement."""
        ...

    def executemany(self, query: str, rows: list[tuple[object, ...]], /) -> object:
        """Run one statement for each row."""
        ...

    def fetchall(self) -> Sequence[Sequence[Any]]:
        """Remaining rows (values as the driver decodes them)."""
        ...

    def fetchone(self) -> Sequence[Any] | None:
        """Next row."""
        ...


class DriverConnection(Protocol):
    """What the store uses of a driver's connection (``sqlite3``, ``psycopg``)."""

    def commit(self) -> None:
        """Commit the transaction."""
        ...

    def rollback(self) -> None:
        """Roll the transaction back."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class Database:
    """One connection, serialised by a lock (a receiver has one writer thread; readers are
    the command line and the supervision loop)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self.path: Path | None = None
        """The SQLite file (None on PostgreSQL)."""
        if url.startswith("sqlite:///"):
            self.engine = "sqlite"
            path = self.path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                sqlite = sqlite3.connect(
                    str(path), check_same_thread=False, isolation_level=None, timeout=30
                )
                self._sqlite: sqlite3.Connection | None = sqlite
                self._pg: psycopg.Connection[TupleRow] | None = None
                self._conn: DriverConnection = sqlite
                sqlite.execute("PRAGMA journal_mode=WAL")
                sqlite.execute("PRAGMA synchronous=FULL")
                problems = self.quick_check()
            except sqlite3.Error as e:
                self.close()
                raise StoreError(f"{path}: cannot open the SQLite store: {e}") from e
            if problems:
                self.close()
                found = "; ".join(problems[:3])
                raise StoreError(
                    f"{path}: the SQLite store is malformed (PRAGMA quick_check: {found});"
                    " left as it is for an operator"
                )
        elif url.startswith(("postgresql://", "postgres://")):
            self.engine = "postgresql"
            self._sqlite = None
            self._conn = self._pg = _connect_postgres(url)
        else:
            raise StoreError(f"unknown store URL {url!r}: sqlite:///PATH or postgresql://...")
        self.errors: tuple[type[BaseException], ...] = (sqlite3.Error, *_pg_errors())
        try:
            self.migrate()
        except self.errors as e:  # a corrupt or foreign file, a database refusing
            self.close()
            where = url.removeprefix("sqlite:///") if self.engine == "sqlite" else "PostgreSQL"
            raise StoreError(f"{where}: cannot use the store: {e}") from e

    def rows(
        self, types: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> tuple[str, list[object]]:
        """A query yielding *rows* (columns of SQL *types*: text, real, int) and its
        parameters, for ``INSERT ... <rows>`` and ``IN (<rows>)``. SQLite gets a multi-row
        VALUES; PostgreSQL one array per column through ``unnest`` (a short query that does
        not grow with the batch, so the driver does not parse thousands of placeholders)."""
        if self.engine == "sqlite":
            one = "(" + ", ".join(["?"] * len(types)) + ")"
            return "VALUES " + ", ".join([one] * len(rows)), [x for r in rows for x in r]
        casts = ", ".join(f"?::{_PG_ARRAYS[t]}" for t in types)
        columns: list[object] = (
            [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in types]
        )
        return f"SELECT * FROM unnest({casts})", columns  # noqa: S608 - casts are constants

    def sql(self, text: str) -> str:
        """*text* for this engine (placeholders)."""
        return text if self.engine == "sqlite" else text.replace("?", "%b")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A transaction: committed when the block ends, rolled back on an exception."""
        with self._lock:
            self._reconnect_if_lost()
            cur = Cursor(self, self._cursor())
            if self._sqlite is not None:
                self._sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                with contextlib.suppress(*self.errors):  # a lost connection cannot roll back
                    self._conn.rollback()
                raise
            self._conn.commit()

    def _cursor(self) -> DriverCursor:
        """A driver cursor; PostgreSQL: binary parameters (arrays of text without escaping)."""
        if self._pg is not None:
            return self._pg.cursor(binary=True)
        if self._sqlite is None:
            raise StoreError(f"{self.url}: the store has no connection")
        return self._sqlite.cursor()

    def _reconnect_if_lost(self) -> None:
        """PostgreSQL restarted or the network dropped: connect again (the transaction in
        hand failed and is retried by the caller; nothing was acknowledged)."""
        if self._pg is not None and (self._pg.closed or self._pg.broken):
            with contextlib.suppress(Exception):
                self._pg.close()
            self._conn = self._pg = _connect_postgres(self.url, timeout=2)

    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read."""
        with self.transaction() as cur:
            return cur.execute(text, params).fetchall()

    def migrate(self) -> int:
        """Bring the schema up to date; returns its version. Safe to run concurrently from
        several receivers (PostgreSQL: an advisory lock serialises them)."""
        types = TYPES[self.engine]
        with self.transaction() as cur:
            if self.engine == "postgresql":
                cur.execute("SELECT pg_advisory_xact_lock(4242)")
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = cur.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            for n, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    cur.execute(statement.format(**types))
                if n in BACKFILLS:
                    BACKFILLS[n](cur)
                cur.execute("INSERT INTO schema_version (version) VALUES (?)", (n,))
        return len(MIGRATIONS)

    def quick_check(self) -> list[str]:
        """What SQLite's ``PRAGMA quick_check`` finds wrong with the file (pages, b-trees,
        records; empty: sound), on a connection of its own so the writer is not held up
        (WAL: it reads a snapshot). PostgreSQL: always empty (it checks its own pages)."""
        if self.path is None:
            return []
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            rows = conn.execute(f"PRAGMA quick_check({QUICK_CHECK_ROWS})").fetchall()
        finally:
            conn.close()
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def close(self) -> None:
        """Close the connection."""
        with self._lock, contextlib.suppress(Exception):
            self._conn.close()


_PG_ARRAYS = {"text": "text[]", "real": "float8[]", "int": "bigint[]"}


class Cursor:
    """A cursor that takes ``?`` placeholders on both engines."""

    def __init__(self, db: Database, cur: DriverCursor) -> None:
        self._db, self._cur = db, cur
        self.engine = db.engine

    def execute(self, text: str, params: Sequence[object] = ()) -> Cursor:
        """Run one statement."""
        self._cur.execute(self._db.sql(text), tuple(params))
        return self

    def executemany(self, text: str, rows: Sequence[Sequence[object]]) -> Cursor:
        """Run one statement for each row."""
        if rows:
            self._cur.executemany(self._db.sql(text), [tuple(r) for r in rows])
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Remaining rows."""
        return [tuple(r) for r in self._cur.fetchall()]

    def fetchone(self) -> tuple[Any, ...] | None:
        """Next row."""
        row = self._cur.fetchone()
        return None if row is None else tuple(row)

    def rows(
        self, types: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> tuple[str, list[object]]:
        """See :meth:`Database.rows`."""
        return self._db.rows(types, rows)

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        return int(self._cur.rowcount)


def _connect_postgres(url: str, timeout: float = 30.0) -> psycopg.Connection[TupleRow]:
    try:
        import psycopg  # an optional extra: [receiver]
    except ImportError as e:
        raise StoreError(
            "a postgresql:// store needs psycopg 3: pip install 'warehouse-edge[receiver]'"
        ) from e
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(url, autocommit=False, connect_timeout=5)
        except psycopg.OperationalError as e:
            if time.monotonic() > deadline:
                raise StoreError(f"cannot connect to the PostgreSQL store: {e}") from e
            time.sleep(0.5)


def _pg_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.Error,)
