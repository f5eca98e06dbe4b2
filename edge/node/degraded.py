"""What the node runs without, and why: the parts a fault at start left behind (a damaged
audit log set aside, no usable signing key, a destination waiting for its files). Each is a
heartbeat ``reasons`` entry naming the file (``signing_key_unusable:/var/lib/.../key.pem``),
so it shows on the status lamp (degraded), in ``STATUS=`` and in ``edge status``; it is
logged once when it appears and once when it clears."""

from __future__ import annotations

import threading
from typing import Any

from edge.core.logs import get_logger

log = get_logger(__name__)


class Degraded:
    """The node's standing faults by topic (one reason each). Thread-safe."""

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def set(self, topic: str, reason: str, **fields: Any) -> None:
        """Record (or replace) the fault of *topic*; logged as ``node.degraded`` (error)
        when it is new or its reason changed."""
        with self._lock:
            changed = self._reasons.get(topic) != reason
            self._reasons[topic] = reason
        if changed:
            log.error("node.degraded", reason=reason, **fields)

    def clear(self, topic: str, **fields: Any) -> None:
        """The fault of *topic* is over (logged as ``node.recovered`` when there was one)."""
        with self._lock:
            was = self._reasons.pop(topic, None)
        if was is not None:
            log.warning("node.recovered", was=was, **fields)

    def reasons(self) -> list[str]:
        """The reasons now, in the order they appeared."""
        with self._lock:
            return list(self._reasons.values())

    def __contains__(self, topic: str) -> bool:
        with self._lock:
            return topic in self._reasons
