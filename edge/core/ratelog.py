"""A problem that repeats, told at once and then at a steady pace: the first occurrence is
logged when it happens, later ones at most once per *every_s* with how many occurrences the
line stands for, so a fault that lasts a day is neither one line nor thousands."""

from __future__ import annotations

import time
from collections.abc import Callable


class Repeats:
    """When to log a recurring problem (the caller logs; this only decides and counts)."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._clock = clock
        self.total = 0
        """Occurrences since the problem began (0 while it is absent)."""
        self._unlogged = 0
        self._next = 0.0
        self.since: float | None = None
        """When (on the clock) the problem began, None while it is absent."""

    def occurred(self) -> int | None:
        """Count one occurrence; the occurrences the log line should stand for when one is
        due now (1 for the first), else None."""
        now = self._clock()
        if self.since is None:
            self.since = now
        self.total += 1
        self._unlogged += 1
        if self.total > 1 and now < self._next:
            return None
        covered, self._unlogged = self._unlogged, 0
        self._next = now + self.every_s
        return covered

    def down_s(self) -> float:
        """Seconds since the problem began (0 while absent)."""
        return 0.0 if self.since is None else round(self._clock() - self.since, 1)

    def cleared(self) -> int:
        """The problem is over: the occurrences it had (0: there was none); counting
        starts afresh."""
        total = self.total
        self.total, self._unlogged, self._next, self.since = 0, 0, 0.0, None
        return total
