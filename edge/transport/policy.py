"""Sharing policy: which destination may receive which kind of message."""

from __future__ import annotations

from collections.abc import Sequence

from edge.config import DestinationConfig


class SharingPolicy:
    """Decides, when a message is accepted, which destinations it is queued for.

    What a destination may not receive is never queued for it, so it can never be sent.
    """

    def __init__(self, destinations: Sequence[DestinationConfig]) -> None:
        self._rules = [(d.name, frozenset(d.kinds)) for d in destinations]

    def destinations_for(self, kind: str) -> list[str]:
        """Names of the destinations that may receive a message of *kind*."""
        return [name for name, kinds in self._rules if "*" in kinds or kind in kinds]
