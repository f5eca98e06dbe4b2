"""Where every event is accepted.

Local outputs (the siren, the status lamp) hear of an event first, before and regardless of
storage. Then the event is persisted; when the outbox cannot take it (a full disk), it waits
in a bounded in-memory backlog, in order, and is stored as soon as storage works again:
``accept`` never raises for a storage fault. An event is logged ``event.accepted`` only once
it is on disk; one that waits in memory is logged ``event.waiting`` (a kill loses it) and
handed to the waiting listeners (the links send a copy from memory at once). Then the
listeners that need a stored event are told.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.events.backlog import Backlog
from edge.events.model import Event

log = get_logger(__name__)

Listener = Callable[[Event], None]


class EventStore(Protocol):
    """Durable storage of accepted events (``edge.outbox.queue.DeliveryQueue``)."""

    def store_event(self, event: Event) -> Sequence[str]:
        """Persist *event* for the destinations allowed to receive it; returns their names.
        Returns only once the event is on disk; raises when it cannot be stored."""
        ...


def storage_fault(exc: BaseException) -> str:
    """A short reason for a storage failure: ``disk_full`` or ``store_error``."""
    text = str(exc).lower()
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return "disk_full"
        seen = seen.__cause__
    if "disk is full" in text or "no space" in text:
        return "disk_full"
    return "store_error"


class EventSink:
    """Accepts events: local outputs first, then durable storage (or the backlog), then the
    listeners of stored events."""

    def __init__(self, store: EventStore, *, backlog_max: int = 10_000) -> None:
        self.store = store
        self.counts: Counter[str] = Counter()
        self.backlog = Backlog(backlog_max)
        self.unstorable = 0
        """Events dropped because storing them raised a bug, not a storage fault."""
        self.fault: str | None = None
        """Why events are waiting in memory (``disk_full``...), None while storage works."""
        self._local: list[Listener] = []
        self._listeners: list[Listener] = []
        self._waiting: list[Listener] = []
        self._logged_waiting: set[str] = set()  # logged waiting: logged accepted once stored
        self._lock = threading.Lock()
        self._storing = threading.Lock()  # one thread stores at a time: order is kept

    def subscribe_local(self, listener: Listener) -> None:
        """Call *listener* with every event before it is stored (sirens, lamps): a local
        alarm must not wait for, or depend on, the disk."""
        with self._lock:
            self._local.append(listener)

    def subscribe(self, listener: Listener) -> None:
        """Call *listener* with every event once it is stored (from the accepting thread)."""
        with self._lock:
            self._listeners.append(listener)

    def subscribe_waiting(self, listener: Listener) -> None:
        """Call *listener* with every event that could not be stored when accepted (it waits
        in memory): ``edge.outbox.queue.DeliveryQueue.offer_event`` sends it from memory."""
        with self._lock:
            self._waiting.append(listener)

    def accept(self, event: Event) -> None:
        """Accept *event*: never raises for a storage fault, never loses the event."""
        with self._lock:
            self.counts[str(event.kind)] += 1
            local = list(self._local)
        self._tell(local, event)
        self.backlog.add(event)
        self.retry()
        waits = self.backlog.holds(event)  # not on disk: waiting, not accepted
        log.info(
            "event.waiting" if waits else "event.accepted",
            id=event.id,
            kind=str(event.kind),
            state=str(event.state),
            severity=str(event.severity),
            camera=event.camera,
            sensor=event.sensor,
            waiting=len(self.backlog),
        )
        if waits:
            with self._lock:
                waiting = list(self._waiting)
                self._logged_waiting.add(event.id)
            self._tell(waiting, event)

    def retry(self) -> list[Event]:
        """Store what waits in the backlog, oldest first, and tell the listeners of stored
        events; returns the events stored now. Called on every accept and by housekeeping."""
        done: list[Event] = []

        def store(event: Event) -> None:
            self.store.store_event(event)
            done.append(event)

        with self._storing:
            while True:
                try:
                    self.backlog.flush(store)
                    break
                except (EdgeError, OSError, sqlite3.Error) as e:  # storage: the events wait
                    why = storage_fault(e)
                    if why != self.fault:
                        log.error("event.store_failed", reason=why, error=str(e))
                    self.fault = why
                    break
                except Exception:  # this event can never be stored (a bug): the rest go on
                    bad = self.backlog.drop_first()
                    self.unstorable += 1
                    log.exception("event.unstorable", id=bad.id if bad else None)
            if self.fault is not None and not len(self.backlog):
                log.info("event.store_restored", was=self.fault, stored=len(done))
                self.fault = None
        with self._lock:
            listeners = list(self._listeners)
            late = [e for e in done if e.id in self._logged_waiting]
            self._logged_waiting.difference_update(e.id for e in late)
        for event in late:
            log.info("event.accepted", id=event.id, kind=str(event.kind), after_waiting=True)
        for event in done:
            self._tell(listeners, event)
        return done

    @staticmethod
    def _tell(listeners: list[Listener], event: Event) -> None:
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not un-accept an event
                log.exception("event.listener_failed", id=event.id)
