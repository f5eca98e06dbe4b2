"""Storing a batch so that one message cannot stop the others.

A batch is committed in one transaction (the common case, and what keeps the receiver
fast). When that fails, the error's class says why:

- the database is away (:func:`is_outage`: connection refused or lost, a full disk,
  SQLite's ``OperationalError``, a corrupt file, psycopg's ``OperationalError``): the
  batch is tried again with backoff until it goes in. Nothing is quarantined and nothing is
  acknowledged meanwhile, so nothing is lost;
- anything else is an error of the data (SQLite's ``InterfaceError``, ``ProgrammingError``,
  ``IntegrityError``, ``DataError``, a ``UnicodeEncodeError``, psycopg's ``DataError`` for
  a NUL in text, or a bug that one message triggers): the batch is stored again one message
  at a time. A message that fails alone :data:`POISON_TRIES` times is quarantined as
  ``store_error`` (its payload kept as bytes, the error's class and text as the detail) and
  the others are stored."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from edge.core.logs import get_logger
from edge.receiver.messages import Reason, Rejected, Verdict
from edge.receiver.store.database import StoreError
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import Committed
from edge.receiver.validate import safe_text

log = get_logger(__name__)

POISON_TRIES = 3
"""Times one message is stored alone, failing the same way, before it is quarantined."""
MAX_DELAY_S = 10.0
"""Longest wait between two tries while the database is away."""
BEAT_S = 0.5
"""While waiting, the writer shows it is alive this often."""


def _pg_outage() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError)


_SQLITE_DATA = (sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.IntegrityError,
                sqlite3.DataError, sqlite3.NotSupportedError)  # fmt: skip
_PG_OUTAGE = _pg_outage()


def is_outage(e: BaseException) -> bool:
    """Is *e* the database (or the disk under it) being away, rather than one message's
    data? Away: wait for it. Data: find the message and quarantine it."""
    if isinstance(e, (StoreError, OSError, *_PG_OUTAGE)):
        return True
    return isinstance(e, sqlite3.DatabaseError) and not isinstance(e, _SQLITE_DATA)


def describe(e: BaseException) -> str:
    """``Class: text`` of an exception, as text any store column takes."""
    return safe_text(f"{type(e).__name__}: {e}", 500)


def poisoned(v: Verdict, e: BaseException) -> Rejected:
    """The quarantine entry of a message that could not be stored: payload kept as bytes,
    every text field made safe for any store."""
    return Rejected(Reason.STORE_ERROR, describe(e), safe_text(v.topic), v.payload, v.sha256,
                    safe_text(v.node, 200), safe_text(v.id, 200))  # fmt: skip


class Committer:
    """Commits batches of verdicts into *store*, waiting out outages (until *stop* is set)
    and isolating poison; *beat* is called on every try (the writer is alive)."""

    def __init__(
        self,
        store: ReceiverStore,
        stop: threading.Event,
        beat: Callable[[], None],
        *,
        queue_limit: int,
    ) -> None:
        self.store, self._stop, self._beat = store, stop, beat
        self.queue_limit = queue_limit
        self.failures = 0
        """Commits that failed (and were retried): a full disk, the database away."""
        self.poisoned = 0
        """Messages quarantined because storing them failed."""

    def commit(self, verdicts: Sequence[Verdict]) -> Committed | None:
        """Store *verdicts*; None when stopped while the database was away (nothing of
        them may be acknowledged then)."""
        try:
            return self._until_stored(verdicts)
        except Exception as e:  # not an outage: some message's data
            log.warning("receiver.batch_failed", error=describe(e), size=len(verdicts),
                        note="storing one message at a time")  # fmt: skip
            return self._one_by_one(verdicts)

    def _until_stored(self, verdicts: Sequence[Verdict]) -> Committed | None:
        """One transaction, tried again while the database is away; a data error raises."""
        delay = 0.5
        while True:
            self._beat()
            try:
                return self.store.commit(verdicts, queue_limit=self.queue_limit)
            except Exception as e:
                if not is_outage(e):
                    raise
                self.failures += 1
                log.error("receiver.store_failed", error=describe(e), waiting=len(verdicts))
            if self._wait(delay):
                return None
            delay = min(delay * 2, MAX_DELAY_S)

    def _wait(self, seconds: float) -> bool:
        """Wait *seconds* (beating: waiting for the database is no wedge); True when
        stopped meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._beat()
            if self._stop.wait(min(left, BEAT_S)):
                return True
        self._beat()
        return False

    def _one_by_one(self, verdicts: Sequence[Verdict]) -> Committed | None:
        total = Committed()
        for v in verdicts:
            done = self._alone(v)
            if done is None:
                return None
            total.stored += done.stored
            total.duplicates += done.duplicates
            total.quarantined += done.quarantined
            total.clips |= done.clips
            total.events += done.events
        return total

    def _alone(self, v: Verdict) -> Committed | None:
        """Store one message, or after :data:`POISON_TRIES` failures its quarantine entry."""
        error: Exception | None = None
        for attempt in range(POISON_TRIES):
            try:
                return self._until_stored([v])
            except Exception as e:
                error = e
                if self._wait(0.05 * (attempt + 1)):
                    return None
        assert error is not None
        self.poisoned += 1
        entry = poisoned(v, error)
        log.error("receiver.poison_quarantined", node=entry.node, topic=entry.topic,
                  id=entry.id, sha256=v.sha256, error=entry.detail)  # fmt: skip
        try:
            return self._until_stored([entry])
        except Exception as e:  # the quarantine refuses it too: keep the bare minimum
            log.critical("receiver.quarantine_failed", error=describe(e), sha256=v.sha256)
            bare = Rejected(Reason.STORE_ERROR, entry.detail, "", v.payload, v.sha256)
            return self._until_stored([bare])
