"""One camera's clip recorder: a pre-roll ring of encoded packets, and the clip being cut.

Activity *holds* the clip open (a tracked person, an open door); when the last hold is
released the clip goes on for the post-roll and is then handed to the finaliser. Clips are
capped: activity beyond the cap continues in a new clip. Times are capture time (``mono``)
for live inputs and stream time (``pts``) for files replayed faster than real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.capture.frame import Frame, Item, Packet, Role, StreamInfo
from edge.clips.encoder import FrameEncoder
from edge.clips.ring import PacketRing
from edge.config.clips import ClipConfig
from edge.core.ids import new_id
from edge.core.logs import get_logger
from edge.core.queues import Closed, FrameQueue

log = get_logger(__name__)


@dataclass
class ClipJob:
    """A finished cut, ready to be written, hashed, signed and stored."""

    clip_id: str
    camera: str
    info: StreamInfo
    packets: list[Packet]
    event_ids: set[str]
    method: str
    """``remux`` (the camera's own packets) or ``encode`` (masked or raw frames, libx264)."""
    reason: str
    trigger_t: float


@dataclass
class _Active:
    clip_id: str
    start_t: float
    trigger_t: float
    packets: list[Packet]
    event_ids: set[str] = field(default_factory=set)
    holds: set[str] = field(default_factory=set)
    released_t: float | None = None
    ending: str | None = None
    """Why the clip ends at the next keyframe (post_roll or cap), once decided."""


class ClipRecorder:
    """Feeds on one camera's record items; cuts clips around holds."""

    def __init__(
        self,
        camera: str,
        cfg: ClipConfig,
        on_ready: Callable[[ClipJob], None],
        *,
        live: bool,
        fps: float = 10.0,
    ) -> None:
        self.camera = camera
        self.cfg = cfg
        self.on_ready = on_ready
        self.live = live
        self.ring = PacketRing(cfg.pre_roll_s + cfg.keyframe_s, by_pts=not live)
        self.info: StreamInfo | None = None
        self.encoder: FrameEncoder | None = None
        self._fps = fps
        self._method = "remux"
        self._active: _Active | None = None
        # masked/raw cameras: frames wait here for the encoder thread, so encoding never
        # holds up capture; a live camera drops the oldest (counted) rather than fall behind
        self._frames: FrameQueue[Frame] = FrameQueue(max(4, round(fps * 2)), drop_oldest=live)
        self._encoder_thread: threading.Thread | None = None
        self._latest_t = 0.0
        self._last_packet_mono = time.monotonic()
        self._lock = threading.Lock()
        self.clips_cut = 0

    # -- feeding ----------------------------------------------------------------------------

    @property
    def frames_dropped(self) -> int:
        """Record frames dropped because encoding fell behind (live cameras only)."""
        return self._frames.dropped

    def feed(self, item: Item) -> None:
        """A record item from the capture thread: packets go in at once, frames to the
        encoder thread."""
        if isinstance(item, Frame):
            if Role.RECORD not in item.roles:
                return
            if self._encoder_thread is None:
                self.encoder = FrameEncoder(
                    self.camera, self._fps, self.cfg.keyframe_s, self.cfg.crf
                )
                self._encoder_thread = threading.Thread(
                    target=self._encode_loop, name=f"encode-{self.camera}", daemon=True
                )
                self._encoder_thread.start()
            self._frames.put(item)
            return
        with self._lock:
            self._take(item, method="remux")

    def _encode_loop(self) -> None:
        assert self.encoder is not None
        while True:
            try:
                frame = self._frames.get(timeout=0.5)
            except Closed:
                return
            if frame is None:
                continue
            try:
                out = self.encoder.encode(frame)  # the heavy part, outside the lock
            except Exception:  # one bad frame must not end recording
                log.exception("clip.encode_failed", camera=self.camera, seq=frame.seq)
                continue
            with self._lock:
                for item in out:
                    self._take(item, method="encode")

    def _take(self, item: StreamInfo | Packet, method: str) -> None:
        if isinstance(item, StreamInfo):
            if self._active is not None:
                self._finish("stream_restart")
            self.info = item
            self._method = method
            self.ring.clear()
            return
        t = item.mono if self.live else item.pts
        self._latest_t = t
        self._last_packet_mono = time.monotonic()
        self.ring.append(item)
        a = self._active
        if a is None:
            return
        if a.ending is not None and item.keyframe:
            # end on a GOP boundary: every frame shown is in the clip, no gaps at the end
            holds, events, reason = set(a.holds), set(a.event_ids), a.ending
            self._finish(reason)
            if reason == "cap" and holds:  # activity goes on: continue in a new clip
                self._start(t, holds, events)
            return
        a.packets.append(item)
        if a.ending is None:
            if (
                not a.holds
                and a.released_t is not None
                and (t >= a.released_t + self.cfg.post_roll_s)
            ):
                a.ending = "post_roll"
            elif t - a.start_t >= self.cfg.max_s:
                a.ending = "cap"

    # -- triggers ---------------------------------------------------------------------------

    def now(self) -> float:
        """The recorder's clock: monotonic for live inputs, latest stream time for replay."""
        return time.monotonic() if self.live else self._latest_t

    def hold(self, key: str, event_id: str, t: float | None = None) -> str | None:
        """Keep (or start) a clip open for activity *key*; returns the clip id, or None when
        the camera has produced nothing to record yet."""
        with self._lock:
            if self.info is None or not len(self.ring):
                return None
            now = self.now() if t is None else t
            if self._active is None:
                self._start(now, {key}, {event_id})
            else:
                self._active.holds.add(key)
                self._active.event_ids.add(event_id)
                self._active.released_t = None
                if self._active.ending == "post_roll":
                    self._active.ending = None  # new activity: keep going
            assert self._active is not None
            return self._active.clip_id

    def release(self, key: str, event_id: str | None = None, t: float | None = None) -> str | None:
        """Activity *key* ended; the post-roll starts when nothing holds the clip."""
        with self._lock:
            a = self._active
            if a is None or key not in a.holds:
                return None
            a.holds.discard(key)
            if event_id:
                a.event_ids.add(event_id)
            if not a.holds:
                a.released_t = self.now() if t is None else t
            return a.clip_id

    def _start(self, now: float, holds: set[str], events: set[str]) -> None:
        packets = self.ring.since(now - self.cfg.pre_roll_s)
        self._active = _Active(
            new_id(), _t0(packets, self.live, now), now, packets, events, set(holds)
        )

    # -- ending -----------------------------------------------------------------------------

    def tick(self) -> None:
        """End a clip whose input went silent (camera gone) once its post-roll has passed."""
        with self._lock:
            a = self._active
            if a is None:
                return
            silent = time.monotonic() - self._last_packet_mono
            if silent > self.cfg.post_roll_s + 5 and (not a.holds or silent > self.cfg.max_s):
                self._finish("input_silent")

    def close(self) -> None:
        """Encode what is waiting, then finish what is being cut (shutdown, end of replay)."""
        if self._encoder_thread is not None:
            self._frames.close()
            self._encoder_thread.join(60)
        with self._lock:
            if self._active is not None:
                self._finish("shutdown")

    def _finish(self, reason: str) -> None:
        a, self._active = self._active, None
        if a is None or self.info is None or not a.packets:
            return
        self.clips_cut += 1
        job = ClipJob(
            a.clip_id,
            self.camera,
            self.info,
            a.packets,
            a.event_ids,
            self._method,
            reason,
            a.trigger_t,
        )
        log.info(
            "clip.cut",
            camera=self.camera,
            clip=a.clip_id,
            packets=len(a.packets),
            reason=reason,
            events=len(a.event_ids),
        )
        self.on_ready(job)


def _t0(packets: list[Packet], live: bool, fallback: float) -> float:
    if not packets:
        return fallback
    return packets[0].mono if live else packets[0].pts
