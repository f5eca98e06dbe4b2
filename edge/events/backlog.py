"""Events accepted while the outbox cannot store them (a full disk, a broken file): kept in
memory, in order, and stored as soon as the outbox takes them again.

Bounded: beyond *max_events* the oldest event that is not an alarm goes first, so the newest
alarms are never dropped for older information; only a backlog of alarms alone loses its
oldest alarm. Every drop is counted by severity.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable

from edge.core.kinds import Severity
from edge.events.model import Event

_URGENT = (Severity.ALARM, Severity.CRITICAL)


class Backlog:
    """Events waiting to be stored, oldest first. Thread-safe."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self.dropped: Counter[str] = Counter()
        """Events lost because the backlog was full, by severity."""
        self._events: deque[Event] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def add(self, event: Event) -> None:
        """Keep *event* (newest last), making room by the rule above."""
        with self._lock:
            self._events.append(event)
            while len(self._events) > self.max_events:
                victim = next((e for e in self._events if e.severity not in _URGENT), None)
                if victim is None:
                    victim = self._events[0]
                self._events.remove(victim)
                self.dropped[str(victim.severity)] += 1

    def holds(self, event: Event) -> bool:
        """True while *event* waits here (not stored yet)."""
        with self._lock:
            return any(e is event for e in self._events)

    def drop_first(self) -> Event | None:
        """Remove and return the oldest event (one that can never be stored)."""
        with self._lock:
            return self._events.popleft() if self._events else None

    def flush(self, store: Callable[[Event], object]) -> int:
        """Store waiting events oldest first until one fails (it raises, the rest wait).
        Returns how many were stored. Only one thread flushes at a time."""
        stored = 0
        while True:
            with self._lock:
                if not self._events:
                    return stored
                event = self._events[0]
            store(event)  # raises: the event stays first in line
            with self._lock:
                if self._events and self._events[0] is event:
                    self._events.popleft()
            stored += 1
