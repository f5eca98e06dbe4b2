"""Where every event is accepted: persisted in the outbox before anything else happens."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from edge.events.model import Event, Severity
from edge.logs import get_logger
from edge.outbox import Outbox, OutboxMessage, Priority
from edge.transport import SharingPolicy, topics

log = get_logger(__name__)

Listener = Callable[[Event], None]


def priority_of(event: Event) -> Priority:
    """Outbox class of *event*: alarms overtake ordinary events."""
    if event.severity in (Severity.ALARM, Severity.CRITICAL):
        return Priority.ALARM
    return Priority.EVENT


class EventSink:
    """Accepts events: stores each durably for the destinations allowed to receive it, then
    tells listeners (links, siren, local UI). ``accept`` returns only once the event is on disk.
    """

    def __init__(self, outbox: Outbox, policy: SharingPolicy) -> None:
        self.outbox = outbox
        self.policy = policy
        self.counts: Counter[str] = Counter()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call *listener* with every accepted event (from the accepting thread)."""
        with self._lock:
            self._listeners.append(listener)

    def accept(self, event: Event) -> None:
        """Persist *event* and notify listeners. Raises OutboxError if it cannot be stored."""
        message = OutboxMessage(
            id=event.id,
            priority=priority_of(event),
            kind=str(event.kind),
            topic=topics.EVENTS,
            payload=event.to_json(),
            created=time.time(),
        )
        destinations = self.policy.destinations_for(str(event.kind), event.camera)
        self.outbox.put(message, destinations)
        with self._lock:
            self.counts[str(event.kind)] += 1
            listeners = list(self._listeners)
        log.info(
            "event.accepted",
            id=event.id,
            kind=str(event.kind),
            state=str(event.state),
            severity=str(event.severity),
            camera=event.camera,
            sensor=event.sensor,
            destinations=destinations,
        )
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not un-accept an event
                log.exception("event.listener_failed", id=event.id)
