"""Everything the node sends goes into the outbox here: events, clips (manifest and chunks),
snapshots and heartbeats, each queued only for the destinations the sharing policy allows.
The links are woken after each put so nothing waits for a poll."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge.clips.store import ClipStore
from edge.core.errors import OutboxError
from edge.core.ids import new_id
from edge.core.kinds import Kind, MessageKind, Severity
from edge.delivery import topics
from edge.delivery.chunks import clip_messages
from edge.delivery.ids import MessageId
from edge.delivery.message import OutboxMessage, Priority
from edge.delivery.outbox import Outbox
from edge.delivery.policy import SharingPolicy
from edge.events.model import Event
from edge.evidence.signing import SignedFields, Signer, message_properties, payload_sha256


def priority_of(event: Event) -> Priority:
    """Outbox class of *event*: alarms overtake ordinary events."""
    if event.severity in (Severity.ALARM, Severity.CRITICAL):
        return Priority.ALARM
    return Priority.EVENT


class DeliveryQueue:
    """Puts messages into the outbox for the destinations allowed to receive them."""

    def __init__(
        self,
        outbox: Outbox,
        policy: SharingPolicy,
        store: ClipStore | None = None,
        *,
        chunk_size: int = 256 * 1024,
        signer: Signer | None = None,
        site: str = "",
        node: str = "",
    ) -> None:
        self.outbox = outbox
        self.signer = signer
        self.site, self.node = site, node
        self.policy = policy
        self.store = store
        self.chunk_size = chunk_size
        self._wake: list[Callable[[], None]] = []
        self._offers: dict[str, Callable[[OutboxMessage], None]] = {}

    def on_put(self, wake: Callable[[], None]) -> None:
        """Call *wake* after every put (a link's ``wake``)."""
        self._wake.append(wake)

    def on_unstorable(self, destination: str, offer: Callable[[OutboxMessage], None]) -> None:
        """Where a heartbeat the outbox cannot store goes for *destination* (its link)."""
        self._offers[destination] = offer

    def _signed(self, message: OutboxMessage) -> OutboxMessage:
        """*message* with the node's signature (``kid``/``sig`` properties) when it has a key."""
        if self.signer is None:
            return message
        digest = dict(message.properties).get("sha256") if message.file else None
        fields = SignedFields(
            self.site, self.node, message.topic, message.id,
            digest or payload_sha256(message.body()),
        )  # fmt: skip
        props = message.properties + message_properties(fields, self.signer)
        return dataclasses.replace(message, properties=props)

    def _woken(self) -> None:
        for wake in self._wake:
            wake()

    def store_event(self, event: Event) -> Sequence[str]:
        """Persist *event* (an ``EventStore``); returns the destinations it is queued for."""
        message = self._signed(
            OutboxMessage(
                id=str(MessageId.event(event.id)),
                priority=priority_of(event),
                kind=str(event.kind),
                topic=topics.EVENTS,
                payload=event.to_json(),
                created=time.time(),
            )
        )
        destinations = self.policy.destinations_for(str(event.kind), event.camera)
        self.outbox.put(message, destinations)
        self._woken()
        return destinations

    def clip(self, signed: dict[str, Any], path: Path) -> None:
        """A signed clip is stored: queue its manifest and chunks for the destinations that
        take this camera's clips (the same set for every message of the clip)."""
        m = signed["manifest"]
        destinations = self.policy.destinations_for(MessageKind.CLIP, m["camera"])
        if not destinations:
            if self.store is not None:  # nobody may have it: no reason to keep it first
                self.store.mark_delivered(m["clip_id"])
            return
        messages = [self._signed(m) for m in clip_messages(signed, path, self.chunk_size)]
        self.outbox.put_many(messages, destinations)
        self._woken()

    def snapshot(self, snap_id: str, camera: str, path: Path) -> None:
        """An event snapshot was saved: queue the JPEG for who may see this camera."""
        message = self._signed(
            OutboxMessage(
                id=str(MessageId.snapshot(snap_id)),
                priority=Priority.CLIP,
                kind=MessageKind.SNAPSHOT,
                topic=topics.snapshot(snap_id),
                payload=path.read_bytes(),
                created=time.time(),
                properties=(("camera", camera), ("content-type", "image/jpeg")),
            )
        )
        destinations = self.policy.destinations_for(MessageKind.SNAPSHOT, camera)
        if self.outbox.put(message, destinations) is None and self.store is not None:
            self.store.mark_delivered(snap_id)
        self._woken()

    def health(self, payload: bytes, ttl_s: float) -> None:
        """Queue a heartbeat (retained, expiring after *ttl_s*). When the outbox cannot store
        it (a full disk), the links still send it from memory: health must go out then most."""
        now = time.time()
        message = self._signed(
            OutboxMessage(
                id=str(MessageId.health(new_id())),
                priority=Priority.HEALTH,
                kind=Kind.NODE_HEALTH,
                topic=topics.HEALTH,
                payload=payload,
                created=now,
                expires=now + ttl_s,
                retain=True,
            )
        )
        destinations = self.policy.destinations_for(Kind.NODE_HEALTH)
        try:
            self.outbox.put(message, destinations)
        except OutboxError:
            for name in destinations:
                offer = self._offers.get(name)
                if offer is not None:
                    offer(message)
            return
        self._woken()
