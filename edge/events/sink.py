"""Where every event is accepted: persisted before anything else happens."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from edge.core.logs import get_logger
from edge.events.model import Event

log = get_logger(__name__)

Listener = Callable[[Event], None]


class EventStore(Protocol):
    """Durable storage of accepted events (``edge.delivery.queue.DeliveryQueue``)."""

    def store_event(self, event: Event) -> Sequence[str]:
        """Persist *event* for the destinations allowed to receive it; returns their names.
        Returns only once the event is on disk; raises when it cannot be stored."""
        ...


class EventSink:
    """Accepts events: stores each durably, then tells listeners (links, siren, local UI).
    ``accept`` returns only once the event is on disk."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.counts: Counter[str] = Counter()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call *listener* with every accepted event (from the accepting thread)."""
        with self._lock:
            self._listeners.append(listener)

    def accept(self, event: Event) -> None:
        """Persist *event* and notify listeners. Raises if it cannot be stored."""
        destinations = self.store.store_event(event)
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
            destinations=list(destinations),
        )
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not un-accept an event
                log.exception("event.listener_failed", id=event.id)
