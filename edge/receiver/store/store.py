"""The receiver's store: the database (SQLite or PostgreSQL) and the object files, behind
the few operations the receiver, its command line and its dashboard need."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from edge.receiver.alerts import AlertOp
from edge.receiver.bounds import Bounds
from edge.receiver.files import FileStore
from edge.receiver.keyring import Identity
from edge.receiver.messages import Verdict
from edge.receiver.store import keys
from edge.receiver.store.database import Database
from edge.receiver.store.writes import Committed, apply_alerts, commit


class ReceiverStore:
    """Database plus files. Thread-safe (one connection under a lock)."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.db = Database(url)
        self.files = FileStore(data_dir)
        self.bounds = Bounds()
        """Quarantine and alert limits (the receiver sets its config's: Bounds.of)."""

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def enrol(
        self,
        site: str,
        node: str,
        public_pem: str,
        *,
        by: str = "",
        reason: str = "",
        replace: bool = False,
    ) -> keys.Enrolment:
        """Enrol *node*'s key, keeping every earlier key with its validity (see
        :func:`edge.receiver.store.keys.enrol`: a different key needs *replace* and a
        *reason*; one key, one node)."""
        return keys.enrol(self.db, site, node, public_pem, by=by, reason=reason, replace=replace)

    def identities(self) -> list[Identity]:
        """Every key of every enrolled node, current and replaced, with its validity."""
        return keys.history(self.db)

    def commit(self, batch: Sequence[Verdict], *, queue_limit: int = 1000) -> Committed:
        """Store a batch in one transaction (see :mod:`edge.receiver.store.writes`)."""
        with self.db.transaction() as cur:
            return commit(cur, batch, self.files, queue_limit=queue_limit, bounds=self.bounds)

    def alerts(self, ops: Sequence[AlertOp]) -> None:
        """Raise or clear alerts."""
        with self.db.transaction() as cur:
            apply_alerts(cur, ops, time.time(), max_open=self.bounds.forged_max_sources)
