"""A bandwidth cap for a link on a thin uplink (a token bucket)."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """A bandwidth cap: at most *rate* bytes per second, bursts up to one second's worth."""

    def __init__(self, rate: int) -> None:
        self.rate = float(rate)
        self._tokens = float(rate)
        self._last = time.monotonic()

    def take(self, n: int, stop: threading.Event) -> bool:
        """Wait until *n* bytes may go; False when stopped meanwhile."""
        while True:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= min(n, self.rate):
                self._tokens -= n
                return True
            if stop.wait((min(n, self.rate) - self._tokens) / self.rate):
                return False
