"""Memory is bounded by bytes, not only by counts: the pre-roll ring, the frame queues and the
open clip (kept in memory only up to a bound, the rest in its journal) never hold more than
their byte bounds, whatever the camera sends; what was spilled to the journal comes back
whole in the stored clip. The node's budget computed from its config is what its parts
enforce, and docs/memory.md says the same figures."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import av
import numpy as np
import synth
from conftest import ROOT
from nodecfg import file_camera, node_config

from edge.capture.file import FileInput
from edge.capture.frame import Frame, Packet, Role
from edge.clips.finalize import ClipFinalizer
from edge.clips.journal import leftovers
from edge.clips.recorder import CLIP_MEMORY_BYTES, ClipRecorder, frame_bytes
from edge.clips.ring import PacketRing, ring_bytes
from edge.clips.store import ClipStore
from edge.config.clips import ClipConfig
from edge.config.loader import loads
from edge.core.queues import FrameQueue
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import verify_clip
from edge.node.memory import (
    ANALYSIS_QUEUE_BYTES,
    ANALYSIS_QUEUE_S,
    analysis_queue_frames,
    describe,
    enforced,
    node_budget,
)
from edge.node.node import Node

ONE_BY_ONE = "one-by-one-person-detection.mp4"
MiB = 1024 * 1024


_PAYLOADS: dict[int, bytes] = {}


def _packet(i: int, size: int, gop: int, fps: float = 25.0) -> Packet:
    data = _PAYLOADS.setdefault(size, bytes(size))
    return Packet("c", data, i / fps, i / fps, i % gop == 0, i / fps, 1e9 + i / fps)


def test_a_high_bitrate_stream_never_outgrows_the_rings_byte_bound() -> None:
    """40 Mbit/s (200 KB packets at 25 fps, a keyframe a second) into a 6 s ring: the ring
    never holds more than its byte bound, still starts at a keyframe, and keeps as much
    pre-roll as the bound allows."""
    ring = PacketRing(6.0, by_pts=True)
    assert ring.max_bytes == ring_bytes(6.0)
    for i in range(25 * 60):
        ring.append(_packet(i, 200_000, 25))
        assert ring.bytes <= ring.max_bytes
        assert i % 10 or ring.since(0)[0].keyframe
    assert ring.peak_bytes <= ring.max_bytes
    assert ring.bytes >= ring.max_bytes - 2 * 25 * 200_000  # whole seconds, not emptied
    assert ring.overflows == 0


def test_a_group_of_pictures_bigger_than_the_bound_is_dropped_whole() -> None:
    """Keyframes 10 s apart at 8 Mbit/s in a ring bounded at 1 MB: the group over the bound
    is dropped and counted; the ring starts again at the next keyframe, never mid-group."""
    ring = PacketRing(2.0, by_pts=True, max_bytes=1_000_000)
    for i in range(250):
        ring.append(_packet(i, 40_000, 100))
        assert ring.bytes <= 1_000_000
        assert len(ring) == 0 or ring.since(0)[0].keyframe
    assert ring.overflows >= 2


def test_a_normal_stream_keeps_its_full_pre_roll() -> None:
    """0.2 Mbit/s (as the sample cameras): the byte bound never trims; the time bound does."""
    ring = PacketRing(6.0, by_pts=True)
    for i in range(10 * 60):
        ring.append(_packet(i, 2_500, 10, fps=10))
    held = ring.since(59.9 - 5.0)
    assert held[0].keyframe and 59.9 - held[0].pts >= 5.0
    assert ring.overflows == 0 and ring.bytes < 30_000 * 7


def test_a_frame_queue_is_bounded_by_bytes_and_drops_the_oldest() -> None:
    """Frames of 1 MB into a queue of 8 frames bounded at 3 MB: it holds 3, drops the oldest
    (counted), and one frame bigger than the bound is still let in alone."""
    q: FrameQueue[bytes] = FrameQueue(8, True, max_bytes=3_000_000, size_of=len)
    for n in range(10):
        q.put(bytes([n]) * 1_000_000)
        assert q.bytes <= 3_000_000
    assert len(q) == 3 and q.dropped == 7
    assert [q.get(0)[:1] for _ in range(3)] == [b"\x07", b"\x08", b"\x09"]  # type: ignore[index]
    q.put(bytes(5_000_000))
    assert len(q) == 1 and q.bytes == 5_000_000 and q.peak_bytes == 5_000_000


def test_a_waiting_frame_queue_waits_for_bytes_not_only_for_room() -> None:
    """Replay (drop_oldest off): a put over the byte bound waits until a get frees bytes;
    nothing is dropped."""
    q: FrameQueue[bytes] = FrameQueue(8, False, max_bytes=2_000_000, size_of=len)
    q.put(bytes(1_000_000))
    q.put(bytes(1_000_000))
    put = threading.Thread(target=q.put, args=(bytes(1_000_000),))
    put.start()
    put.join(0.2)
    assert put.is_alive() and len(q) == 2  # it waits: the bound holds
    assert q.get(1) is not None
    put.join(30)
    assert not put.is_alive() and len(q) == 2 and q.dropped == 0


def _parts(tmp: Path) -> tuple[ClipFinalizer, ClipRecorder, list[tuple[dict[str, Any], Path]]]:
    store = ClipStore(tmp / "clips", 200 * MiB, 86400)
    sent: list[tuple[dict[str, Any], Path]] = []
    fin = ClipFinalizer(
        store, NodeKey.create(tmp / "key.pem"), AuditLog(tmp / "audit.log"), node="n", site="s",
        on_clip=lambda signed, path: sent.append((signed, path)),
    )  # fmt: skip
    cfg = ClipConfig(pre_roll_s=5, post_roll_s=2, max_s=120)
    rec = ClipRecorder("cam", cfg, fin.submit, live=False, fps=10)
    events: list[Event] = []
    fin.attach({"cam": rec}, EventFactory("n", "s"), events.append)
    return fin, rec, sent


def _record(rec: ClipRecorder, source: Path, hold_at: float, until: float) -> tuple[int, int]:
    """Replay *source*, hold a clip from *hold_at* to *until*; returns the most clip bytes
    the recorder held in memory and the packets it fed after the hold."""
    most = fed = 0
    held = False
    for item in FileInput("cam", source, roles=Role.RECORD).stream():
        rec.feed(item)
        if isinstance(item, Packet) and held:
            fed += 1
        most = max(most, rec._packets_bytes)
        if not held and rec.info is not None and rec.now() >= hold_at:
            held = rec.hold("person-1", "event-1") is not None
        if rec.now() >= until:
            break
    rec.release("person-1", "event-1")
    rec.close()
    return most, fed


def test_a_long_clip_lives_in_its_journal_and_is_stored_whole(tmp_path: Path, videos: Path) -> None:
    """A 30 s clip with 64 KB of it allowed in memory: the recorder never holds more than
    that plus one packet, the journal holds the rest, and the stored clip is signed, has every
    packet and decodes; its journal is gone."""
    fin, rec, sent = _parts(tmp_path)
    rec.memory_bytes = 64 * 1024
    fin.start()
    most, fed = _record(rec, videos / ONE_BY_ONE, 8.0, 38.0)
    assert fin.shutdown(60)
    assert most <= rec.memory_bytes + 64 * 1024  # the bound, plus the packet that crossed it
    ((signed, path),) = sent
    verify_clip(signed, fin.key.public, path)
    with av.open(str(path)) as f:
        frames = sum(1 for _ in f.decode(f.streams.video[0]))
    assert frames >= fed and signed["manifest"]["duration_s"] >= 30
    assert leftovers(fin.journal_dir) == []


def test_a_spilled_clip_keeps_its_journal_when_the_disk_fills(tmp_path: Path, videos: Path) -> None:
    """The disk falls below keep_free_bytes after part of a clip is only in its journal: the
    journal stops growing but is not removed (the rest stays in memory), and the clip is
    stored whole."""
    fin, rec, sent = _parts(tmp_path)
    rec.memory_bytes = 32 * 1024
    fin.start()
    done = False
    for item in FileInput("cam", videos / ONE_BY_ONE, roles=Role.RECORD).stream():
        rec.feed(item)
        if rec.info is not None and rec._journal is None and not done:
            rec.hold("person-1", "event-1")
        journal = rec._journal
        if journal is not None and journal.holds_packets and not done:
            journal.keep_free_bytes = 1 << 60  # as if the disk filled up now
            done = True
        if rec.now() >= 30:
            break
    assert done and journal is not None and journal.failed and journal.path.exists()
    rec.release("person-1", "event-1")
    rec.close()
    assert fin.shutdown(60)
    ((signed, path),) = sent
    assert signed["manifest"]["duration_s"] >= 20
    with av.open(str(path)) as f:
        assert sum(1 for _ in f.decode(f.streams.video[0])) >= 200


def test_the_nodes_budget_is_what_its_parts_enforce(tmp_path: Path) -> None:
    """A node with a plain and a masked camera: the budget computed from its config equals
    the bounds read off the recorders and analysis queues it builds; the masked camera alone
    has an encoder queue; a frame's bytes are its picture's."""
    video = synth.write_video(tmp_path / "v.mp4", frames=10)
    text = node_config(tmp_path / "data", "n", mock_gpio=True, cameras=[
        file_camera("dock", video), file_camera("office", video, extra=synth.MASK_TOML),
    ])  # fmt: skip
    cfg = loads(text)
    budget = node_budget(cfg)
    node = Node(cfg)
    built = tuple(
        enforced(w.cfg.name, w.queue, node.recorders.get(w.cfg.name), bool(w.cfg.privacy_masks))
        for w in node.cameras
    )
    assert built == budget.cameras
    assert [w.queue.maxsize for w in node.cameras] == [
        analysis_queue_frames(w.cfg.fps) for w in node.cameras
    ]
    assert [c.encode_queue > 0 for c in budget.cameras] == [False, True]
    assert budget.cameras[0].open_clip == CLIP_MEMORY_BYTES
    image = np.zeros((432, 768, 3), np.uint8)
    assert frame_bytes(Frame("c", 0, 0.0, 0.0, 0.0, image)) == 768 * 432 * 3


def test_the_analysis_queue_holds_seconds_of_frames_within_its_bytes() -> None:
    """A camera's analysis queue holds ANALYSIS_QUEUE_S of frames at its analysis rate (at
    least two), and never more than its byte bound: 5 at 5 fps, 20 at 20 fps, 2 at 0.2 fps;
    the budget counts the byte bound, whatever the rate."""
    assert [analysis_queue_frames(f) for f in (5.0, 20.0, 0.2)] == [5, 20, 2]
    assert ANALYSIS_QUEUE_S == 1.0
    q: FrameQueue[bytes] = FrameQueue(
        analysis_queue_frames(20.0), True, max_bytes=ANALYSIS_QUEUE_BYTES, size_of=len
    )
    frame = bytes(768 * 432 * 3)
    for _ in range(30):
        q.put(frame)
    assert len(q) == ANALYSIS_QUEUE_BYTES // len(frame) and q.peak_bytes <= ANALYSIS_QUEUE_BYTES


def test_docs_memory_states_the_default_cameras_budget(tmp_path: Path) -> None:
    """docs/memory.md quotes the budget of a camera with the default settings, and of a
    masked one, exactly as :func:`edge.node.memory.describe` computes them."""
    video = tmp_path / "v.mp4"
    text = node_config(tmp_path / "data", "n", cameras=[
        file_camera("plain", video), file_camera("masked", video, extra=synth.MASK_TOML),
    ])  # fmt: skip
    doc = (ROOT / "docs" / "memory.md").read_text()
    for line in describe(node_budget(loads(text))):
        assert line in doc, line
