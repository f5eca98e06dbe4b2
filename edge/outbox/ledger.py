"""What a broker's acknowledgement means on the node: a record in the audit chain of what
went where, and stored files that may now leave first (a clip once its manifest and every
chunk reached every destination; a snapshot once it reached them).

The audit record comes first, then the outbox forgets the message: a message leaves the
outbox only once its record is on disk. A record that cannot be written (a full disk)
keeps its message in the outbox, not to be sent again meanwhile (:meth:`unsettled`), and is
written, in order, by the next acknowledgement or by housekeeping (:meth:`retry`). A kill in
between loses nothing: the message is still in the outbox and goes again after the restart
(receivers drop the duplicate by id), and its record is written then.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Collection, Sequence

from edge.clips.store import ClipStore
from edge.core.errors import EdgeError, OutboxError
from edge.core.kinds import Kind, MessageKind
from edge.core.logs import get_logger
from edge.evidence.audit import AuditLog
from edge.outbox.message import OutboxMessage, Pending
from edge.outbox.store import Outbox
from edge.wire.ids import MessageId, Part

log = get_logger(__name__)

MAX_UNRECORDED = 100_000
"""Delivered messages whose records wait, tracked in memory; beyond it the oldest is let go
of: it stays in the outbox and is simply sent (and recorded) again later."""
LOG_EVERY_S = 60.0
"""A record that keeps failing is logged at most this often (with the count waiting)."""


def sha256_of(m: OutboxMessage) -> str:
    """The hash the audit chain records for a message: of its payload, or for a clip chunk
    the chunk hash computed when it was queued."""
    if m.file is None:
        return hashlib.sha256(m.payload).hexdigest()
    return dict(m.properties).get("sha256", "")


def item_fields(m: OutboxMessage) -> dict[str, object]:
    """What a ``shared`` record names besides the message, so a sharing report counts
    exactly (edge.report): the ``camera``; an event's ``event_kind``, ``sensor``,
    ``snapshot_id`` and ``clip_id``; a
    clip manifest's ``clip_sha256`` (of the MP4), ``chunks`` and ``event_ids``. Only what
    the message itself says: a field it does not give is left out, never guessed."""
    props = dict(m.properties)
    out: dict[str, object] = {}
    if "camera" in props:
        out["camera"] = props["camera"]
    if m.file is not None or m.kind in (MessageKind.SNAPSHOT, Kind.NODE_HEALTH):
        return out
    try:
        body = json.loads(m.payload)
    except ValueError:
        return out
    if not isinstance(body, dict):
        return out
    manifest = body.get("manifest")
    if m.kind == "clip" and isinstance(manifest, dict):
        out.update(camera=manifest.get("camera"), clip_sha256=manifest.get("sha256"),
                   event_ids=manifest.get("event_ids"), chunks=props.get("chunks"))  # fmt: skip
    elif m.kind != "clip":
        out.update(camera=body.get("camera"), event_kind=m.kind)
        for name in ("sensor", "snapshot_id", "clip_id"):
            if body.get(name):
                out[name] = body[name]
    return out


class DeliveryLedger:
    """Keeps the books when a destination acknowledges messages (a link's ``Books``)."""

    def __init__(self, outbox: Outbox, audit: AuditLog, store: ClipStore) -> None:
        self.outbox = outbox
        self.audit = audit
        self.store = store
        self.lost = 0
        """Audit records given up (always 0 now: a message leaves only once recorded)."""
        self.released = 0
        """Delivered messages let go of past :data:`MAX_UNRECORDED` (they go again)."""
        self._unrecorded: deque[tuple[str, Pending]] = deque()
        self._unacked: dict[str, dict[int, Pending]] = {}  # recorded, not yet out of the outbox
        self._open: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self._logged_at = 0.0
        self._logged: str | None = None

    @property
    def unrecorded(self) -> int:
        """Acknowledged messages whose audit record waits to be written."""
        with self._lock:
            return len(self._unrecorded)

    def unsettled(self, destination: str) -> Collection[int]:
        """Delivered to *destination*, still in the outbox until their books are closed."""
        with self._lock:
            return set(self._open.get(destination, ()))

    def acknowledged(self, destination: str, delivered: Sequence[Pending]) -> None:
        """*destination* acknowledged *delivered*: audit each, then free what every
        destination now has."""
        with self._lock:
            held = self._open.setdefault(destination, set())
            for p in delivered:
                if p.seq and p.seq in held:
                    continue  # its books are already open
                self._unrecorded.append((destination, p))
                if p.seq:
                    held.add(p.seq)
            while len(self._unrecorded) > MAX_UNRECORDED:
                dest, old = self._unrecorded.popleft()
                self._open.get(dest, set()).discard(old.seq)
                self.released += 1
        self.retry()

    def retry(self) -> int:
        """Write the audit records that wait, oldest first, then take their messages out of
        the outbox; returns how many records were written."""
        written, settled = 0, []
        with self._lock:
            while self._unrecorded:
                destination, p = self._unrecorded[0]
                m = p.message
                try:
                    self.audit.append(
                        "shared", m.kind, m.id, destination, sha256_of(m), topic=m.topic,
                        **item_fields(m),
                    )  # fmt: skip
                except (OSError, EdgeError) as e:
                    self._failing("audit.record_waits", len(self._unrecorded), e)
                    break
                self._unrecorded.popleft()
                self._unacked.setdefault(destination, {})[p.seq] = p
                written += 1
            for destination, items in self._unacked.items():
                if not items:
                    continue
                try:
                    self.outbox.ack(destination, sorted(items))
                except OutboxError as e:
                    self._failing("outbox.ack_waits", len(items), e)
                    continue
                settled += list(items.values())
                self._open.get(destination, set()).difference_update(items)
                items.clear()
        if settled:
            self._freed(settled)
        return written

    def _failing(self, what: str, waiting: int, e: BaseException) -> None:
        now = time.monotonic()
        if str(e) != self._logged or now - self._logged_at >= LOG_EVERY_S:
            log.error(what, waiting=waiting, error=str(e))
            self._logged, self._logged_at = str(e), now

    def _freed(self, delivered: Sequence[Pending]) -> None:
        """Files whose every message left the outbox may leave the clip store first."""
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

    def _delivered(self, item_id: str) -> None:
        try:
            self.store.mark_delivered(item_id)
        except sqlite3.Error as e:  # retention order only: never worth failing an ack for
            log.warning("clip.mark_delivered_failed", item=item_id, error=str(e))
