"""Active/standby receivers (``[receiver] failover = "standby"``): a leader elected through
PostgreSQL, so that two processes with one client id never both hold its MQTT session.

Both processes of a pair have the same ``receiver.name`` (one client id, one persistent
session at the broker) and the same PostgreSQL store. Each opens a connection of its own
for the election and tries ``pg_try_advisory_lock`` on a key made from the client id: the
one that gets it leads, for as long as that connection lives, and only then connects to the
broker; the other stands by, trying again every ``leader_poll_s``. When the leader dies its
connection closes, PostgreSQL frees the lock, and the standby takes the same session
(clean start off): whatever the dead leader had not acknowledged the broker sends again,
and the store drops what it had already committed.

A leader that loses its election connection (PostgreSQL restarted, the network cut) cannot
know whether the standby has taken over: it steps down by ending the process at once
(exit :data:`EXIT_STEPPED_DOWN`; systemd starts it again, as a standby). The connection's
TCP timeouts are set so that the leader notices a cut (about 5 s) well before PostgreSQL
frees the lock (about 16 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.core.lifecycle import Worker, end_process
from edge.core.logs import get_logger
from edge.receiver.config import ReceiverConfig
from edge.receiver.store import leaderlock

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

log = get_logger(__name__)

LOCK_CLASS = 0x45444745
"""First key of the two-key advisory lock ('EDGE'): the two-key space never meets the
one-key lock the schema migration takes."""

EXIT_STEPPED_DOWN = 75
"""Exit status of a leader that lost its election connection (EX_TEMPFAIL: try again)."""

CLIENT_TIMEOUTS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,
}
"""libpq settings of the election connection: a dead server or a cut shows within ~5 s."""

SERVER_TIMEOUTS = (
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
    " -c tcp_user_timeout=15000 -c idle_in_transaction_session_timeout=0"
)
"""The server side of it: PostgreSQL frees a vanished leader's lock after ~16 s (later than
the leader steps down), at once when its process dies (the kernel closes the socket)."""


def lock_key(client_id: str) -> int:
    """The second lock key: 31 bits of sha256 of the client id."""
    return int.from_bytes(hashlib.sha256(client_id.encode()).digest()[:4], "big") >> 1


def step_down() -> None:
    """End the process now (no clean stop: the standby may be taking the session already;
    nothing unacknowledged is lost, the broker sends it to the next leader)."""
    log.error("receiver.leadership_lost", exit=EXIT_STEPPED_DOWN)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(EXIT_STEPPED_DOWN)


class Leadership:
    """Waits for the lock, calls *on_elected* once it is held, then watches the connection
    and calls *on_lost* if it fails. All on one thread of its own."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        poll_s: float,
        on_elected: Callable[[], None],
        on_lost: Callable[[], None] = step_down,
    ) -> None:
        self.url, self.client_id, self.poll_s = url, client_id, poll_s
        self.key = lock_key(client_id)
        self._on_elected, self._on_lost = on_elected, on_lost
        self.leading = threading.Event()
        self.elected_after_s: float | None = None
        """Seconds from start() to holding the lock."""
        self.worker = Worker("receiver-leader", on_death=end_process(self._on_lost))
        """Owns the thread; one that dies (a leader no longer watched, a standby that cannot
        take over) is logged ``thread.died`` and ends the process (``on_lost``)."""
        self._stop = self.worker.stopping
        self._conn: psycopg.Connection[TupleRow] | None = None

    def start(self) -> None:
        """Start standing by (returns at once)."""
        self.worker.spawn(self._stand_by_then_lead, "receiver-leader")

    def stop(self) -> None:
        """Stop standing by or watching; a lock held stays held until :meth:`release`."""
        self.worker.shutdown(10)

    def release(self) -> None:
        """Close the connection, which frees the lock (after leaving the broker)."""
        self._stop.set()
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _try(self) -> bool:
        """One try for the lock (a new connection first if there is none)."""
        import psycopg  # a PostgreSQL store is required for failover = "standby"
        from psycopg.conninfo import make_conninfo

        try:
            if self._conn is None:
                info = make_conninfo(self.url, options=SERVER_TIMEOUTS, **CLIENT_TIMEOUTS)
                self._conn = psycopg.connect(info, autocommit=True)
            held = leaderlock.try_lock(self._conn, LOCK_CLASS, self.key)
        except psycopg.Error as e:
            log.warning("receiver.election_failed", error=str(e).strip())
            self._close()
            return False
        return held

    def _stand_by_then_lead(self) -> None:
        start = time.monotonic()
        told = False
        while not self._try():
            if not told:
                log.info("receiver.standby", client_id=self.client_id, poll_s=self.poll_s)
                told = True
            if self._stop.wait(self.poll_s):
                return
        if self._stop.is_set():
            return
        self.elected_after_s = time.monotonic() - start
        self.leading.set()
        log.info("receiver.leading", client_id=self.client_id,
                 waited_s=round(self.elected_after_s, 3))  # fmt: skip
        self._on_elected()
        self._watch()

    def _watch(self) -> None:
        """While leading: the lock lives as long as the connection; check it every poll."""
        import psycopg

        while not self._stop.wait(self.poll_s):
            try:
                leaderlock.ping(self._conn)
            except (psycopg.Error, AttributeError) as e:
                if self._stop.is_set():
                    return
                log.error("receiver.election_connection_lost", error=str(e).strip())
                self._on_lost()
                return


def leadership(cfg: ReceiverConfig, on_elected: Callable[[], None]) -> Leadership | None:
    """The election of a ``failover = "standby"`` receiver; None for any other."""
    if cfg.failover != "standby":
        return None
    return Leadership(cfg.store_url, cfg.client_id, poll_s=cfg.receiver.leader_poll_s,
                      on_elected=on_elected)  # fmt: skip
