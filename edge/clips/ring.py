"""The pre-roll ring buffer: encoded packets of the last few seconds, always starting at a
keyframe, so a clip can begin before the moment that triggered it. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import deque

from edge.capture.frame import Packet


class PacketRing:
    """Keeps at least *seconds* of packets, trimmed only at keyframes: the oldest packet held
    is always a keyframe, and the newest keyframe at or before ``now - seconds`` is kept so a
    full pre-roll can start there. Time is capture time (``mono``) or, with ``by_pts``,
    stream time (files replayed faster than real time)."""

    def __init__(self, seconds: float, max_packets: int = 10_000, by_pts: bool = False) -> None:
        if seconds < 0:
            raise ValueError(f"pre-roll must be >= 0, got {seconds}")
        self.seconds = seconds
        self.max_packets = max_packets
        self.by_pts = by_pts
        self._packets: deque[Packet] = deque()

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def bytes(self) -> int:
        """Payload bytes held."""
        return sum(len(p.data) for p in self._packets)

    def clear(self) -> None:
        """Forget everything (the stream restarted: old packets will not decode with new)."""
        self._packets.clear()

    def append(self, packet: Packet) -> None:
        """Add the newest packet; drop whole GOPs that are older than needed."""
        if not self._packets and not packet.keyframe:
            return  # cannot start a clip here
        self._packets.append(packet)
        self._trim(self._t(packet))

    def _t(self, p: Packet) -> float:
        return p.pts if self.by_pts else p.mono

    def _trim(self, now: float) -> None:
        horizon = now - self.seconds
        while True:
            # the second keyframe: if it is already old enough, the first GOP is not needed
            second = next((i for i, p in enumerate(self._packets) if i and p.keyframe), None)
            if second is None:
                break
            if self._t(self._packets[second]) <= horizon or len(self._packets) > self.max_packets:
                for _ in range(second):
                    self._packets.popleft()
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
