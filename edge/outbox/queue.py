"""Everything the node sends goes into the outbox here: events, clips (manifest and chunks),
snapshots and heartbeats, each queued only for the destinations the sharing policy allows.
The links are woken after each put so nothing waits for a poll.

What the outbox cannot store (a full disk) follows one rule, heartbeats and events alike:
the links send it from memory at once (:mod:`edge.outbox.memory`); an event also waits in
the node's backlog until it can be stored (``EventSink``), a heartbeat is replaced by the
next one."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from edge.clips.store import ClipStore
from edge.core.errors import EdgeError, OutboxError
from edge.core.ids import new_id
from edge.core.kinds import Kind, MessageKind, Severity
from edge.events.model import Event
from edge.evidence.signing import SignedFields, Signer, message_properties, payload_sha256
from edge.outbox.chunks import clip_messages, manifest_of
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.policy import SharingPolicy
from edge.outbox.store import Outbox
from edge.wire import topics
from edge.wire.ids import MessageId


def priority_of(event: Event) -> Priority:
    """Outbox class of *event*: alarms overtake ordinary events."""
    if event.severity in (Severity.ALARM, Severity.CRITICAL):
        return Priority.ALARM
    return Priority.EVENT


def route(policy: SharingPolicy, message: OutboxMessage) -> list[str]:
    """Who may have *message* by *policy* (for messages whose delivery rows a damaged
    outbox lost): the camera from its properties or payload; a camera's message whose
    camera is unknown goes only to destinations that take every camera."""
    camera = dict(message.properties).get("camera")
    if camera is None and message.file is None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body = json.loads(message.payload)
            camera = body.get("camera") or body.get("manifest", {}).get("camera")
    if camera is None and message.kind in (MessageKind.CLIP, MessageKind.SNAPSHOT):
        camera = "\0unknown"  # matches only cameras = ["*"]
    return policy.destinations_for(message.kind, camera)


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

    def _event_message(self, event: Event) -> OutboxMessage:
        return self._signed(
            OutboxMessage(
                id=str(MessageId.event(event.id)),
                priority=priority_of(event),
                kind=str(event.kind),
                topic=topics.EVENTS,
                payload=event.to_json(),
                created=time.time(),
            )
        )

    def store_event(self, event: Event) -> Sequence[str]:
        """Persist *event* (an ``EventStore``); returns the destinations it is queued for."""
        message = self._event_message(event)
        destinations = self.policy.destinations_for(str(event.kind), event.camera)
        self.outbox.put(message, destinations)
        self._woken()
        return destinations

    def offer_event(self, event: Event) -> None:
        """*event* could not be stored (it waits in memory): the links send it from memory
        (the same id and signature as its stored copy later)."""
        destinations = self.policy.destinations_for(str(event.kind), event.camera)
        try:
            message = self._event_message(event)
        except EdgeError:  # no usable signing key: nothing unsigned leaves; it waits
            return
        self._offer(message, destinations)

    def _offer(self, message: OutboxMessage, destinations: Sequence[str]) -> None:
        for name in destinations:
            offer = self._offers.get(name)
            if offer is not None:
                offer(message)

    def clip(self, signed: Mapping[str, object], path: Path) -> None:
        """A signed clip is stored: queue its manifest and chunks for the destinations that
        take this camera's clips (the same set for every message of the clip)."""
        m = manifest_of(signed)
        camera = m["camera"]
        destinations = self.policy.destinations_for(
            MessageKind.CLIP, camera if isinstance(camera, str) else None
        )
        if not destinations:
            if self.store is not None:  # nobody may have it: no reason to keep it first
                self.store.mark_delivered(str(m["clip_id"]))
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
            self._offer(message, destinations)
            return
        self._woken()
