"""What a broker's acknowledgement means on the node: a record in the audit chain of what
went where, and stored files that may now leave first (a clip once its manifest and every
chunk reached every destination; a snapshot once it reached them).

The outbox has already forgotten an acknowledged message when its audit record is written:
a record that cannot be written (a full disk) waits in memory, in order, and is written by
the next acknowledgement or by housekeeping (:meth:`DeliveryLedger.retry`)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import deque
from collections.abc import Sequence

from edge.clips.store import ClipStore
from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.delivery.ids import MessageId, Part
from edge.delivery.message import OutboxMessage, Pending
from edge.delivery.outbox import Outbox
from edge.evidence.audit import AuditLog

log = get_logger(__name__)

MAX_UNRECORDED = 100_000
"""Audit records kept in memory while they cannot be written; beyond it the oldest go
(counted in ``lost``)."""


def sha256_of(m: OutboxMessage) -> str:
    """The hash the audit chain records for a message: of its payload, or for a clip chunk
    the chunk hash computed when it was queued."""
    if m.file is None:
        return hashlib.sha256(m.payload).hexdigest()
    return dict(m.properties).get("sha256", "")


class DeliveryLedger:
    """Keeps the books when a destination acknowledges messages (a link's ``on_ack``)."""

    def __init__(self, outbox: Outbox, audit: AuditLog, store: ClipStore) -> None:
        self.outbox = outbox
        self.audit = audit
        self.store = store
        self.lost = 0
        """Audit records dropped because memory for unwritten ones was full."""
        self._unrecorded: deque[tuple[str, OutboxMessage]] = deque()
        self._lock = threading.Lock()

    @property
    def unrecorded(self) -> int:
        """Acknowledged messages whose audit record waits to be written."""
        with self._lock:
            return len(self._unrecorded)

    def acknowledged(self, destination: str, delivered: Sequence[Pending]) -> None:
        """*destination* acknowledged *delivered*: audit each, free what every destination
        now has."""
        with self._lock:
            self._unrecorded.extend((destination, p.message) for p in delivered)
            while len(self._unrecorded) > MAX_UNRECORDED:
                self._unrecorded.popleft()
                self.lost += 1
        self.retry()
        clips: set[str] = set()
        for p in delivered:
            mid = MessageId.parse(p.message.id)
            if mid.clip_id is not None:
                clips.add(mid.clip_id)
            elif mid.part is Part.SNAPSHOT:
                self._delivered(mid.ref)
        for clip_id in clips:
            if self.outbox.remaining(MessageId.clip_prefix(clip_id)) == 0:
                self._delivered(clip_id)
                self._delivered(f"{clip_id}.manifest")

    def retry(self) -> int:
        """Write the audit records that wait, oldest first; returns how many were written."""
        written = 0
        with self._lock:
            while self._unrecorded:
                destination, m = self._unrecorded[0]
                try:
                    self.audit.append(
                        "shared", m.kind, m.id, destination, sha256_of(m), topic=m.topic
                    )
                except (OSError, EdgeError) as e:
                    log.error("audit.record_waits", waiting=len(self._unrecorded), error=str(e))
                    break
                self._unrecorded.popleft()
                written += 1
        return written

    def _delivered(self, item_id: str) -> None:
        try:
            self.store.mark_delivered(item_id)
        except sqlite3.Error as e:  # retention order only: never worth failing an ack for
            log.warning("clip.mark_delivered_failed", item=item_id, error=str(e))
