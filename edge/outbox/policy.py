"""Sharing policy: which destination may receive which kind of message, from which camera."""

from __future__ import annotations

from collections.abc import Sequence

from edge.config.transport import DestinationConfig


class SharingPolicy:
    """Decides, when a message is accepted, which destinations it is queued for.

    What a destination may not receive is never queued for it, so it can never be sent: the
    kind must be among its ``kinds`` and, for anything from a camera (events, clips,
    snapshots), the camera among its ``cameras``.
    """

    def __init__(self, destinations: Sequence[DestinationConfig]) -> None:
        self._rules = [(d.name, frozenset(d.kinds), frozenset(d.cameras)) for d in destinations]

    def destinations_for(self, kind: str, camera: str | None = None) -> list[str]:
        """Names of the destinations that may receive a message of *kind* about *camera*."""
        return [
            name
            for name, kinds, cameras in self._rules
            if ("*" in kinds or kind in kinds)
            and (camera is None or "*" in cameras or camera in cameras)
        ]
