"""Counters of one MQTT link, for health reports and benchmarks."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass
class LinkStats:
    """Counters of one link, for health reports and benchmarks."""

    connects: int = 0
    published: int = 0
    acked: int = 0
    rejected: int = 0
    """PUBACKs that refused a message (MQTT 5 reason code 0x80 or more), every reason."""
    refusals: Counter[str] = field(default_factory=Counter)
    """Refusals by the broker's reason ("Not authorized", "Quota exceeded"...)."""
    no_subscribers: int = 0
    """Messages the broker took while nobody subscribed to them (MQTT 5 PUBACK 0x10)."""
    last_error: str | None = None
    """Why the last connection attempt failed (cleared once connected), or why another
    client is believed to hold this link's client id (cleared with ``duplicate_id``)."""
    duplicate_id: bool = False
    """Another client uses this link's client id (a second process with the node id): the
    broker keeps taking the connection away (:mod:`edge.link.takeover`)."""
    certificate_refused: str | None = None
    """Why the broker refuses this node's client certificate (``revoked``, ``unknown_ca``,
    ``expired``, ``rejected``; :mod:`edge.link.certrefused`), None once it accepts it."""
    takeovers: int = 0
    """Connections lost while the client id was believed taken."""
    delivery_error: str | None = None
    """A message the broker cannot take: too large (stays until the node restarts), or
    refused with a reason code (cleared once it goes through)."""
    ack_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    """Publish-to-PUBACK seconds of the most recent acknowledgements."""
