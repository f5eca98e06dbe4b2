"""The log of one link's outage: every failed connection attempt with its reason and the
backoff before the next one, rate-limited so that a long outage is not a line every few
seconds: the first :data:`FIRST` attempts of an outage in full, then one line every
:data:`SUMMARY_S` with how many attempts it stands for, and one line when the link is back
(how many attempts failed, how long it was down)."""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.core.logs import get_logger

log = get_logger(__name__)

FIRST = 5
"""Failed attempts of one outage logged one by one."""
SUMMARY_S = 60.0
"""After those, at most one line per this many seconds."""


class ReconnectLog:
    """The failed connection attempts of one destination since it was last connected."""

    def __init__(self, destination: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.destination = destination
        self.attempts = 0
        """Failed attempts since the last connection (0 while connected)."""
        self._clock = clock
        self._down_since: float | None = None
        self._unlogged = 0
        self._next_line = 0.0

    def failed(self, reason: str, retry_in_s: float, **fields: object) -> None:
        """An attempt failed for *reason*; the next comes in *retry_in_s* seconds."""
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
        self.attempts += 1
        wait = round(retry_in_s, 2)
        if self.attempts <= FIRST:
            log.error("mqtt.connect_failed", destination=self.destination, reason=reason,
                      attempt=self.attempts, retry_in_s=wait, **fields)  # fmt: skip
            self._next_line = now + SUMMARY_S
            return
        self._unlogged += 1
        if now >= self._next_line:
            log.error("mqtt.connect_failed", destination=self.destination, reason=reason,
                      attempt=self.attempts, retry_in_s=wait, since_last_line=self._unlogged,
                      down_s=round(now - self._down_since, 1), **fields)  # fmt: skip
            self._unlogged = 0
            self._next_line = now + SUMMARY_S

    def lost(self, reason: str, retry_in_s: float) -> None:
        """A working connection was lost (the outage starts); reconnect in *retry_in_s*."""
        self._down_since = self._clock()
        log.warning("mqtt.link_lost", destination=self.destination, reason=reason,
                    retry_in_s=round(retry_in_s, 2))  # fmt: skip

    def connected(self) -> None:
        """The broker accepted a connection: the outage (if any) is over."""
        if self.attempts:
            down = 0.0 if self._down_since is None else self._clock() - self._down_since
            log.info("mqtt.reconnected", destination=self.destination,
                     failed_attempts=self.attempts, down_s=round(down, 1))  # fmt: skip
        self.attempts = 0
        self._unlogged = 0
        self._down_since = None
