"""The receiver's store: the database (SQLite or PostgreSQL) and the object files, behind
the few operations the receiver, its command line and its dashboard need."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from edge.evidence.keys import key_id, load_public
from edge.receiver.alerts import AlertOp
from edge.receiver.bounds import Bounds
from edge.receiver.files import FileStore
from edge.receiver.messages import Verdict
from edge.receiver.store.database import Database, StoreError
from edge.receiver.store.writes import Committed, apply_alerts, commit
from edge.receiver.trust import Identity


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

    def enrol(self, site: str, node: str, public_pem: str) -> str:
        """Register (or re-key) *node* of *site*; returns the key id. A key already enrolled
        for another node is refused: one key, one node."""
        public = load_public(public_pem)
        kid = key_id(public)
        with self.db.transaction() as cur:
            row = cur.execute("SELECT site, node FROM nodes WHERE key_id = ?", (kid,)).fetchone()
            if row is not None and (row[0], row[1]) != (site, node):
                raise StoreError(f"key {kid} is already enrolled for {row[0]}/{row[1]}")
            cur.execute(
                "INSERT INTO nodes (site, node, public_key, key_id, enrolled) VALUES"
                " (?, ?, ?, ?, ?) ON CONFLICT (site, node) DO UPDATE SET"
                " public_key = excluded.public_key, key_id = excluded.key_id",
                (site, node, public_pem, kid, time.time()),
            )
        return kid

    def identities(self) -> list[Identity]:
        """Every enrolled node."""
        rows = self.db.query("SELECT node, site, public_key FROM nodes ORDER BY site, node")
        return [Identity(str(n), str(s), str(k)) for n, s, k in rows]

    def commit(self, batch: Sequence[Verdict], *, queue_limit: int = 1000) -> Committed:
        """Store a batch in one transaction (see :mod:`edge.receiver.store.writes`)."""
        with self.db.transaction() as cur:
            return commit(cur, batch, self.files, queue_limit=queue_limit, bounds=self.bounds)

    def alerts(self, ops: Sequence[AlertOp]) -> None:
        """Raise or clear alerts."""
        with self.db.transaction() as cur:
            apply_alerts(cur, ops, time.time(), max_open=self.bounds.forged_max_sources)
