"""Clips: pre-roll ring, recorder, MP4 remux/encode, snapshots, retention."""

from edge.clips.finalize import ClipFinalizer
from edge.clips.mp4 import ClipWriteError, WrittenClip, write_mp4
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.clips.ring import PacketRing
from edge.clips.store import ClipStore, QuotaError, Stored

__all__ = [
    "ClipFinalizer",
    "ClipJob",
    "ClipRecorder",
    "ClipStore",
    "ClipWriteError",
    "PacketRing",
    "QuotaError",
    "Stored",
    "WrittenClip",
    "write_mp4",
]
