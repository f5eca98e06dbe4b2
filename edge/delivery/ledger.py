"""What a broker's acknowledgement means on the node: a record in the audit chain of what
went where, and stored files that may now leave first (a clip once its manifest and every
chunk reached every destination; a snapshot once it reached them)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from edge.clips.store import ClipStore
from edge.delivery.ids import MessageId, Part
from edge.delivery.message import OutboxMessage, Pending
from edge.delivery.outbox import Outbox
from edge.evidence.audit import AuditLog


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

    def acknowledged(self, destination: str, delivered: Sequence[Pending]) -> None:
        """*destination* acknowledged *delivered*: audit each, free what every destination
        now has."""
        clips: set[str] = set()
        for p in delivered:
            m = p.message
            self.audit.append("shared", m.kind, m.id, destination, sha256_of(m), topic=m.topic)
            mid = MessageId.parse(m.id)
            if mid.clip_id is not None:
                clips.add(mid.clip_id)
            elif mid.part is Part.SNAPSHOT:
                self.store.mark_delivered(mid.ref)
        for clip_id in clips:
            if self.outbox.remaining(MessageId.clip_prefix(clip_id)) == 0:
                self.store.mark_delivered(clip_id)
                self.store.mark_delivered(f"{clip_id}.manifest")
