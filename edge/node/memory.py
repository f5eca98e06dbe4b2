"""The node's memory budget: what each camera may hold in memory, in bytes, computed from the
config, and the same bounds read back off the running parts (so a test can hold the two
together). docs/memory.md writes the figures down.

Per camera (each bounded by bytes where the node holds it, not only by a count):

- the pre-roll ring of encoded packets (:func:`edge.clips.ring.ring_bytes`);
- the open clip's packets kept in memory (:data:`edge.clips.recorder.CLIP_MEMORY_BYTES`;
  the rest of a long clip is only in its journal on disk);
- decoded frames waiting for the analysis (:data:`ANALYSIS_QUEUE_BYTES`);
- decoded frames waiting for the encoder, masked cameras only
  (:data:`edge.clips.recorder.ENCODE_QUEUE_BYTES`).

Per node: the clip being written (one at a time, streamed from its journal), the detector
and the interpreter; the decoder's own buffers (FFmpeg, one thread per camera) are measured,
not enforced: :data:`DECODER_BYTES`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from edge.capture.frame import Frame
from edge.clips.recorder import CLIP_MEMORY_BYTES, ENCODE_QUEUE_BYTES, ClipRecorder
from edge.clips.ring import ring_bytes
from edge.config.cameras import CameraConfig
from edge.config.clips import ClipConfig
from edge.config.root import EdgeConfig
from edge.core.queues import FrameQueue
from edge.node import memory_arenas

MiB = 1024 * 1024
ANALYSIS_QUEUE_BYTES = 12 * MiB
"""Bytes of decoded frames a camera's analysis queue may hold (and at most
:func:`analysis_queue_frames` frames): twelve 768x432 frames, four 720p ones, two 1080p
ones; a live camera drops the oldest beyond it."""
ANALYSIS_QUEUE_S = 1.0
"""Seconds of frames at the camera's analysis rate its analysis queue may hold (at least
:data:`ANALYSIS_QUEUE_MIN` frames), within :data:`ANALYSIS_QUEUE_BYTES`: a burst of detector
work shorter than this is waited out, not dropped. Not more: under a lasting overload every
queue is full, and 2 s (10 frames of 1 MB at 5 fps) measured about +100 MB of RSS at 16
cameras (547-626 MB against 446-498 MB with 4 frames, both overloaded on a shared machine)."""
ANALYSIS_QUEUE_MIN = 2
WRITING_BYTES = 2 * MiB
"""What writing one clip holds, however long: the journal's read buffer
(:data:`edge.clips.journal_stream.READ_BUFFER`), one packet record, the MP4 muxer's index (some
30 bytes a packet) and the clip's last packets kept in memory are counted per camera. Python's
allocations measured at 0.14 MB for a 3.3 MB clip and for a 16.6 MB one alike."""
DECODER_BYTES = 4 * MiB
"""What one camera's H.264 decoder holds (reference pictures of a 768x432 stream and
FFmpeg's buffers, one decoding thread): measured, not enforced (docs/memory.md)."""


@dataclass(frozen=True)
class CameraBudget:
    """The most bytes one camera's parts hold in memory."""

    camera: str
    preroll: int
    """The pre-roll ring of encoded packets."""
    open_clip: int
    """The open clip's packets kept in memory (the rest only in its journal)."""
    analysis_queue: int
    """Decoded frames waiting for the analysis."""
    encode_queue: int
    """Decoded frames waiting for the clip encoder (0: clips are the camera's own packets)."""

    @property
    def enforced(self) -> int:
        """The sum of the bounds the parts enforce."""
        return self.preroll + self.open_clip + self.analysis_queue + self.encode_queue

    @property
    def total(self) -> int:
        """The enforced bounds plus the decoder's measured share."""
        return self.enforced + DECODER_BYTES


@dataclass(frozen=True)
class NodeBudget:
    """Every camera's budget, and the clip being written (one at a time)."""

    cameras: tuple[CameraBudget, ...]
    writing: int
    """The clip being written, streamed from its journal (:data:`WRITING_BYTES`, whatever
    its length or bitrate); 0 when clips are off."""

    @property
    def total(self) -> int:
        """Bytes the cameras and the clip writer may hold at most."""
        return sum(c.total for c in self.cameras) + self.writing


def analysis_queue_frames(fps: float) -> int:
    """How many frames a camera analysed at *fps* may have waiting: :data:`ANALYSIS_QUEUE_S`
    of them (the byte bound may hold fewer)."""
    return max(ANALYSIS_QUEUE_MIN, math.ceil(ANALYSIS_QUEUE_S * fps))


def camera_budget(cam: CameraConfig, clips: ClipConfig) -> CameraBudget:
    """What *cam* may hold, from its config and the node's clip settings."""
    records = clips.enabled and not cam.private
    encodes = records and bool(cam.privacy_masks)
    return CameraBudget(
        cam.name,
        preroll=ring_bytes(clips.pre_roll_s + clips.keyframe_s) if records else 0,
        open_clip=CLIP_MEMORY_BYTES if records else 0,
        analysis_queue=0 if cam.private else ANALYSIS_QUEUE_BYTES,
        encode_queue=ENCODE_QUEUE_BYTES if encodes else 0,
    )


def node_budget(cfg: EdgeConfig) -> NodeBudget:
    """The budget of every camera *cfg* runs, and of the clip writer."""
    cams = tuple(camera_budget(c, cfg.clips) for c in cfg.cameras if not c.private)
    writing = WRITING_BYTES if cfg.clips.enabled else 0
    return NodeBudget(cams, writing)


def enforced(
    camera: str, queue: FrameQueue[Frame], recorder: ClipRecorder | None, encodes: bool
) -> CameraBudget:
    """The bounds the running parts of *camera* enforce: its analysis *queue* and clip
    *recorder* (None: clips off), read back off them."""
    return CameraBudget(
        camera,
        preroll=recorder.ring.max_bytes if recorder else 0,
        open_clip=recorder.memory_bytes if recorder else 0,
        analysis_queue=queue.max_bytes or 0,
        encode_queue=(recorder.encode_queue_bytes if recorder and encodes else 0),
    )


def describe(budget: NodeBudget) -> Iterable[str]:
    """One line per camera and a total, in MiB (for logs and the docs)."""
    for c in budget.cameras:
        yield (
            f"{c.camera}: pre-roll {c.preroll / MiB:.1f} + open clip {c.open_clip / MiB:.1f} + "
            f"analysis {c.analysis_queue / MiB:.1f} + encoder {c.encode_queue / MiB:.1f} + "
            f"decoder {DECODER_BYTES / MiB:.1f} = {c.total / MiB:.1f} MiB"
        )
    yield f"clip being written: {budget.writing / MiB:.1f} MiB"
    yield f"total: {budget.total / MiB:.1f} MiB"


def trim() -> None:
    """The node's housekeeping chore: freed heap pages back to the system, at most once a
    minute (:class:`edge.node.memory_arenas.Trimmer`)."""
    memory_arenas.trim()
