"""Counters of one MQTT link, for health reports and benchmarks."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class LinkStats:
    """Counters of one link, for health reports and benchmarks."""

    connects: int = 0
    published: int = 0
    acked: int = 0
    rejected: int = 0
    last_error: str | None = None
    """Why the last connection attempt failed (cleared once connected)."""
    delivery_error: str | None = None
    """A message the broker cannot take (too large): stays until the node restarts."""
    ack_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    """Publish-to-PUBACK seconds of the most recent acknowledgements."""
