"""Is a camera input delivering? Turns silence into a fault and the return into a restore."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Restored:
    """Frames came back after a fault; ``gap_s`` is how long nothing came."""

    gap_s: float


class Liveness:
    """Tracks the last item of one input. Thread-safe: the capture thread calls ``seen``,
    a timer (the analysis thread) calls ``check``."""

    def __init__(self, fault_after_s: float, now: float) -> None:
        self.fault_after_s = fault_after_s
        self._last = now
        self._faulted = False
        self._finished = False
        self._lock = threading.Lock()

    @property
    def faulted(self) -> bool:
        """True between a fault and the next item."""
        with self._lock:
            return self._faulted

    def seen(self, now: float) -> Restored | None:
        """An item arrived at *now*; returns :class:`Restored` when that ends a fault."""
        with self._lock:
            gap = now - self._last
            self._last = now
            if self._faulted:
                self._faulted = False
                return Restored(gap)
            return None

    def finished(self) -> None:
        """The input ended on purpose (a replayed file): silence is no longer a fault."""
        with self._lock:
            self._finished = True

    def check(self, now: float) -> float | None:
        """Returns the silent time when a fault starts now, else None (once per fault)."""
        with self._lock:
            if self._faulted or self._finished or now - self._last < self.fault_after_s:
                return None
            self._faulted = True
            return now - self._last

    def force_fault(self) -> bool:
        """Fault at once (the input failed for a reason that waiting will not cure)."""
        with self._lock:
            was = self._faulted
            self._faulted = True
            return not was
