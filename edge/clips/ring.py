"""The pre-roll ring buffer: encoded packets of the last few seconds, always starting at a
keyframe, so a clip can begin before the moment that triggered it. Pure: no I/O, no clock.

Bounded twice: by time (what a pre-roll needs) and by bytes (:data:`RING_BYTES_PER_S` per
second held, so a camera sending far more than expected, or keyframes far apart, cannot make
the node's memory grow: see docs/memory.md)."""

from __future__ import annotations

import math
from collections import deque

from edge.capture.frame import Packet

RING_BYTES_PER_S = 1024 * 1024
"""Bytes a ring may hold per second of pre-roll it keeps: 8 Mbit/s, above any camera stream
the node records (its sample streams send 0.2 Mbit/s, a 1080p substream 2-4 Mbit/s)."""
RING_SLACK_BYTES = 2 * 1024 * 1024
"""Added to every ring's byte bound: one more group of pictures of a high-bitrate camera."""


def ring_bytes(seconds: float) -> int:
    """The byte bound of a ring keeping *seconds* of pre-roll."""
    return math.ceil(seconds * RING_BYTES_PER_S) + RING_SLACK_BYTES


class PacketRing:
    """Keeps at least *seconds* of packets, trimmed only at keyframes: the oldest packet held
    is always a keyframe, and the newest keyframe at or before ``now - seconds`` is kept so a
    full pre-roll can start there. Time is capture time (``mono``) or, with ``by_pts``,
    stream time (files replayed faster than real time).

    Never more than *max_bytes* of payload (default :func:`ring_bytes` of *seconds*) nor
    *max_packets*: over either, whole groups of pictures go from the oldest end, even when a
    pre-roll would still want them; a single group larger than the bound is dropped whole and
    the ring starts again at the next keyframe (counted in ``overflows``)."""

    def __init__(
        self,
        seconds: float,
        max_packets: int = 10_000,
        by_pts: bool = False,
        max_bytes: int | None = None,
    ) -> None:
        if seconds < 0:
            raise ValueError(f"pre-roll must be >= 0, got {seconds}")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.seconds = seconds
        self.max_packets = max_packets
        self.max_bytes = ring_bytes(seconds) if max_bytes is None else max_bytes
        self.by_pts = by_pts
        self.overflows = 0
        """Times a single group of pictures outgrew the byte bound and was dropped whole."""
        self.peak_bytes = 0
        """The most payload bytes ever held at once."""
        self._packets: deque[Packet] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def bytes(self) -> int:
        """Payload bytes held."""
        return self._bytes

    def clear(self) -> None:
        """Forget everything (the stream restarted: old packets will not decode with new)."""
        self._packets.clear()
        self._bytes = 0

    def append(self, packet: Packet) -> None:
        """Add the newest packet; drop whole GOPs that are older than needed or over the
        bounds."""
        if not self._packets and not packet.keyframe:
            return  # cannot start a clip here
        self._packets.append(packet)
        self._bytes += len(packet.data)
        self._trim(self._t(packet))
        if self._bytes > self.max_bytes:  # one group alone is over the bound: start again
            self.overflows += 1
            self.clear()
        self.peak_bytes = max(self.peak_bytes, self._bytes)

    def _t(self, p: Packet) -> float:
        return p.pts if self.by_pts else p.mono

    def _over(self) -> bool:
        return len(self._packets) > self.max_packets or self._bytes > self.max_bytes

    def _trim(self, now: float) -> None:
        horizon = now - self.seconds
        while True:
            # the second keyframe: if it is already old enough, the first GOP is not needed
            second = next((i for i, p in enumerate(self._packets) if i and p.keyframe), None)
            if second is None:
                break
            if self._t(self._packets[second]) <= horizon or self._over():
                for _ in range(second):
                    self._bytes -= len(self._packets.popleft().data)
            else:
                break

    def since(self, t: float) -> list[Packet]:
        """Packets from the newest keyframe at or before *t* (or the oldest held) onwards."""
        start = 0
        for i, p in enumerate(self._packets):
            if p.keyframe and self._t(p) <= t:
                start = i
            elif self._t(p) > t:
                break
        return list(self._packets)[start:]
