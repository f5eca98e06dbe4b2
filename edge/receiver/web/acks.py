"""Acknowledgements: an officer's note on an event, stored with who and when, and appended
to the receiver's own hash-chained audit log (``DATA/audit/dashboard.log``, the node's
format: ``edge audit verify`` checks it) before the row is written; the row keeps the
record's hash, so each one can be found in the chain."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from edge.core.logs import get_logger
from edge.evidence.audit import GENESIS, AuditCheck, AuditLog, verify_log
from edge.evidence.canonical import canonical
from edge.receiver.store.database import Database

log = get_logger(__name__)

MAX_NOTE = 2000


class Acks:
    """The acks table and the audit log beside it."""

    def __init__(self, db: Database, audit_path: Path) -> None:
        self.db = db
        self.audit_path = audit_path
        self._audit: AuditLog | None = None
        self._lock = threading.Lock()

    def _log(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog(self.audit_path)
        return self._audit

    def of(self, site: str, node: str, event_id: str) -> dict[str, Any] | None:
        """The acknowledgement of one event (None: not acknowledged)."""
        cols = ("username", "note", "time", "audit_hash")
        rows = self.db.query(
            f"SELECT {', '.join(cols)} FROM acks"  # noqa: S608
            " WHERE site = ? AND node = ? AND event_id = ?",
            (site, node, event_id),
        )
        return dict(zip(cols, rows[0], strict=True)) if rows else None

    def acknowledge(
        self, site: str, node: str, event_id: str, user: str, note: str
    ) -> dict[str, Any] | None:
        """Acknowledge an event; returns the audit record, or None if it already was."""
        note = note.strip()[:MAX_NOTE]
        with self._lock:
            if self.of(site, node, event_id) is not None:
                return None
            fields = {"site": site, "node": node, "event": event_id, "user": user, "note": note}
            digest = hashlib.sha256(canonical(fields)).hexdigest()
            record = self._log().append(
                "acknowledge", "event", event_id, None, digest, site=site, node=node,
                user=user, note=note,
            )  # fmt: skip
            try:
                with self.db.transaction() as cur:
                    cur.execute(
                        "INSERT INTO acks (site, node, event_id, username, note, time,"
                        " audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (site, node, event_id, user, note, record["time"], record["hash"]),
                    )
            except self.db.errors as e:  # another receiver's dashboard was first
                log.warning("web.ack_conflict", event_id=event_id, user=user, error=str(e))
                return None
        log.info("web.acknowledged", site=site, node=node, event_id=event_id, user=user,
                 audit=record["hash"])  # fmt: skip
        return record

    def verify(self) -> AuditCheck:
        """Check the audit log's chain (no log yet: nothing acknowledged, an empty chain)."""
        if not self.audit_path.exists():
            return AuditCheck(ok=True, records=0, head=GENESIS)
        return verify_log(self.audit_path)
