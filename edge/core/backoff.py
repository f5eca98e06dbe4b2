"""Jittered exponential backoff for reconnect loops (cameras, brokers)."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from *initial* up to *maximum*, each drawn from [d/2, d] so that
    many nodes reconnecting after one outage do not arrive together."""

    def __init__(
        self, initial: float = 1.0, maximum: float = 60.0, rng: random.Random | None = None
    ) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"backoff needs 0 < initial <= maximum, got {initial}, {maximum}")
        self.initial = initial
        self.maximum = maximum
        self._current = initial
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next(self) -> float:
        """The next delay in seconds."""
        d = self._current
        self._current = min(self._current * 2, self.maximum)
        return d / 2 + self._rng.uniform(0, d / 2)

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._current = self.initial
