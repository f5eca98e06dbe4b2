"""One camera's clip recorder: a pre-roll ring of encoded packets, and the clip being cut.

Activity *holds* the clip open (a tracked person, an open door); when the last hold is
released the clip goes on for the post-roll and is then handed to the finaliser. Clips are
capped: activity beyond the cap continues in a new clip. Times are capture time (``mono``)
for live inputs and stream time (``pts``) for files replayed faster than real time.

When a clip opens, stays open and closes is decided by :class:`edge.clips.hold.ClipHold`
(a pure state machine); this module does the packet, ring and encoder work around it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.capture.frame import Frame, Item, Packet, Role, StreamInfo
from edge.clips.encoder import FrameEncoder
from edge.clips.hold import ClipClosed, ClipHold, EndReason, Step
from edge.clips.journal import ClipJournal, Journals, discard
from edge.clips.journal_stream import ClipPackets
from edge.clips.ring import PacketRing
from edge.config.clips import ClipConfig
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.core.queues import Closed, FrameQueue

log = get_logger(__name__)

CLIP_MEMORY_BYTES = 1024 * 1024
"""Bytes of the open clip kept in memory once its journal holds them too: beyond this the
clip's packets are only in its journal (streamed from it when the clip is written), so a long clip
of a busy camera costs the node no more memory than a short one (docs/memory.md)."""
ENCODE_QUEUE_BYTES = 24 * 1024 * 1024
"""Bytes of frames a masked or raw camera's encoder may have waiting (at most ``2 x fps``
frames too): four 1080p frames; a live camera drops the oldest beyond it."""


def frame_bytes(frame: Frame) -> int:
    """Bytes of a frame's picture (what a frame queue holds)."""
    return int(frame.image.nbytes)


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
    journal: Path | None = None
    """The clip's journal on disk (:mod:`edge.clips.journal`): removed once it is stored."""
    spilled: int = 0
    """How many of the clip's first packets are only in its journal, not in ``packets``
    (:data:`CLIP_MEMORY_BYTES`): :meth:`stream` reads them back as it goes."""

    def stream(self) -> ClipPackets:
        """The clip's packets, the spilled ones read from its journal as they are iterated
        (the finaliser writes the clip from this: never the whole clip in memory)."""
        return ClipPackets(self.journal, self.spilled, self.packets)

    def drop_journal(self) -> None:
        """The clip will not be stored (withheld on purpose): forget its journal too."""
        discard(self.journal)
        self.journal = None


class ClipRecorder(Worker):
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
        super().__init__(f"recorder-{camera}")
        self.camera = camera
        self.cfg = cfg
        self.on_ready = on_ready
        self.live = live
        self.ring = PacketRing(cfg.pre_roll_s + cfg.keyframe_s, by_pts=not live)
        self.memory_bytes = CLIP_MEMORY_BYTES
        """Bytes of a journaled open clip kept in memory (the rest is only in its journal)."""
        self.info: StreamInfo | None = None
        self.encoder: FrameEncoder | None = None
        self._fps = fps
        self._method = "remux"
        # the clip's life (open, held, post-roll, capped); its packets are cut here
        self._hold = ClipHold(cfg.post_roll_s, cfg.max_s, start_of=self._pre_roll_start)
        self._packets: list[Packet] = []  # the open clip's packets held in memory
        self._packets_bytes = 0
        self._spilled = 0  # the open clip's first packets, only in its journal
        self.journals: Journals | None = None
        """Where the open clip is journaled as it grows (None: in memory only)."""
        self._journal: ClipJournal | None = None
        self._journaled: set[str] = set()  # event ids already in the journal
        # masked/raw cameras: frames wait here for the encoder thread, so encoding never
        # holds up capture; a live camera drops the oldest (counted) rather than fall behind
        self._frames: FrameQueue[Frame] = FrameQueue(
            max(4, round(fps * 2)), live, max_bytes=ENCODE_QUEUE_BYTES, size_of=frame_bytes
        )
        self._latest_t = 0.0
        self._last_packet_mono = time.monotonic()
        self._lock = threading.Lock()
        self.clips_cut = 0

    # -- feeding ----------------------------------------------------------------------------

    @property
    def encode_queue_bytes(self) -> int:
        """The byte bound of the frames waiting for the encoder (masked or raw cameras)."""
        return self._frames.max_bytes or 0

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
            if self.encoder is None:
                self.encoder = FrameEncoder(
                    self.camera, self._fps, self.cfg.keyframe_s, self.cfg.crf
                )
                self.spawn(self._encode_loop, f"encode-{self.camera}")
            self._frames.put(item)
            return
        with self._lock:
            self._take(item, method="remux")

    def _encode_loop(self) -> None:
        assert self.encoder is not None
        session = 0
        while True:
            try:
                frame = self._frames.get(timeout=0.5)
            except Closed:
                return
            if frame is None:
                continue
            if frame.session != session:  # a new camera session: its pts restart at 0
                if session:  # a fresh encoder begins with a StreamInfo: the clip and ring reset
                    self.encoder = FrameEncoder(
                        self.camera, self._fps, self.cfg.keyframe_s, self.cfg.crf
                    )
                session = frame.session
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
            self._apply(self._hold.stop(EndReason.STREAM_RESTART))
            self.info = item
            self._method = method
            self.ring.clear()
            return
        t = item.mono if self.live else item.pts
        self._latest_t = t
        self._last_packet_mono = time.monotonic()
        self.ring.append(item)  # first: a continuation's pre-roll starts at this keyframe
        step = self._hold.packet(t, item.keyframe)
        if step.append:
            self._packets.append(item)
            self._packets_bytes += len(item.data)
            if self._journal is not None:
                self._journal.packets([item])
                self._spill()
        self._apply(step)

    def _spill(self) -> None:
        """Past :attr:`memory_bytes`, forget the open clip's packets its journal holds (a
        journal that failed holds only what came before: the rest stays in memory)."""
        journal = self._journal
        if self._packets_bytes <= self.memory_bytes or journal is None or journal.failed:
            return
        journal.holds_packets = True  # from now on the only copy: never given up unread
        self._spilled += len(self._packets)
        self._packets, self._packets_bytes = [], 0

    def _apply(self, step: Step) -> None:
        """Carry out the state machine's decision: hand over a closed clip, then start
        cutting an opened one from the pre-roll."""
        if step.closed is not None:
            self._finish(step.closed)
        if step.opened is not None:
            self._packets = self._pre_roll(step.opened.trigger_t)
            self._packets_bytes = sum(len(p.data) for p in self._packets)
            self._open_journal(step.opened.clip_id, step.opened.trigger_t)
            self._spill()

    def _open_journal(self, clip_id: str, trigger_t: float) -> None:
        """Start journaling the clip just opened: its pre-roll, and the events it records."""
        if self.journals is None or self.info is None:
            return
        first = self._packets[0].wall if self._packets else None
        self._journal = self.journals.open(clip_id, self.info, self._method, trigger_t, first)
        self._journaled = set()
        self._journal_events(self._hold.event_ids)  # first: they outlive a torn pre-roll
        self._journal.packets(self._packets)

    def _journal_events(self, event_ids: frozenset[str] | set[str]) -> None:
        if self._journal is None:
            return
        for event_id in sorted(set(event_ids) - self._journaled):
            self._journal.event(event_id)
            self._journaled.add(event_id)

    def _pre_roll(self, trigger_t: float) -> list[Packet]:
        return self.ring.since(trigger_t - self.cfg.pre_roll_s)

    def _pre_roll_start(self, trigger_t: float) -> float:
        """When a clip triggered at *trigger_t* starts: its first pre-roll packet."""
        return _t0(self._pre_roll(trigger_t), self.live, trigger_t)

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
            step = self._hold.hold(key, event_id, now)
            self._apply(step)
            self._journal_events({event_id})
            return step.clip_id

    def release(self, key: str, event_id: str | None = None, t: float | None = None) -> str | None:
        """Activity *key* ended; the post-roll starts when nothing holds the clip."""
        with self._lock:
            now = self.now() if t is None else t
            step = self._hold.release(key, event_id, now)
            if step.clip_id is not None and event_id:
                self._journal_events({event_id})
            return step.clip_id

    # -- ending -----------------------------------------------------------------------------

    def tick(self) -> None:
        """End a clip whose input went silent (camera gone) once its post-roll has passed."""
        with self._lock:
            self._apply(self._hold.tick(time.monotonic() - self._last_packet_mono))
            journal = self._journal
        if journal is not None:  # on this (the housekeeper's) thread: capture never waits
            journal.sync()

    def close(self) -> None:
        """Encode what is waiting, then finish what is being cut (shutdown, end of replay)."""
        self.stopping.set()  # its encoder thread ends on purpose: not a dead service
        self._frames.close()
        self.join(60)
        with self._lock:
            self._apply(self._hold.stop(EndReason.SHUTDOWN))

    def _stopping(self) -> None:
        """Stopping the node's services: the same as :meth:`close`."""
        self.close()

    def _finish(self, closed: ClipClosed) -> None:
        packets, self._packets, self._packets_bytes = self._packets, [], 0
        spilled, self._spilled = self._spilled, 0
        journal, self._journal = self._journal, None
        reason = closed.reason.value
        if journal is not None:
            journal.closed(reason)
        if self.info is None or not (packets or spilled):
            if journal is not None:
                discard(journal.path)
            return
        self.clips_cut += 1
        job = ClipJob(
            closed.clip_id,
            self.camera,
            self.info,
            packets,
            set(closed.event_ids),
            self._method,
            reason,
            closed.trigger_t,
            None if journal is None else journal.path,
            spilled,
        )
        log.info(
            "clip.cut",
            camera=self.camera,
            clip=closed.clip_id,
            packets=len(packets) + spilled,
            reason=reason,
            events=len(closed.event_ids),
        )
        self.on_ready(job)


def _t0(packets: list[Packet], live: bool, fallback: float) -> float:
    if not packets:
        return fallback
    return packets[0].mono if live else packets[0].pts
