"""Turn a cut into evidence: write the MP4 (remux or the node's own encode), hash it, sign its
manifest, keep both under retention, note it in the audit chain, hand it on for delivery.
Runs in its own thread so cameras never wait for the disk.

Attached to the recorders (:meth:`ClipFinalizer.attach`), it has them journal the clip being
cut (:mod:`edge.clips.journal`) and, when it starts, makes the clips of the journals a node
that died left behind (:mod:`edge.clips.recovery`). A clip that cannot be made, then or now,
is reported as a ``clip_lost`` event with its camera and time range: no clip goes untold."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.clips import recovery
from edge.clips.journal import Journals, discard, leftovers
from edge.clips.lost import LostClip, LostReport, not_signed
from edge.clips.mp4 import ClipDiskError, ClipWriteError, write_mp4
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.clips.store import ClipStore, QuotaError
from edge.core.errors import OutboxError
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.core.ratelog import Repeats
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import SigningKeyError
from edge.evidence.manifest import build_manifest, sign_manifest
from edge.evidence.signing import Signer

log = get_logger(__name__)

OnClip = Callable[[dict[str, Any], Path], None]
RETRY_S = 1.0
"""How often a stored clip the outbox could not take (a full disk) is handed on again, and a
clip the disk refused is written again."""
NICE = 10
"""How much lower than the node's the finaliser thread's OS priority is: clips closing
together (cameras watching one scene) are written when the analysis leaves CPU free, never
ahead of it (a clip waits in its journal meanwhile)."""


class ClipSigner(Signer, Protocol):
    """The node's key as the finalizer uses it (``NodeKey``, or the running node's slot)."""

    @property
    def public(self) -> Ed25519PublicKey:
        """The public key (what a manifest is verified with)."""
        ...


class ClipFinalizer(Worker):
    """Writes, signs and stores clips handed over by the recorders (one thread)."""

    def __init__(
        self,
        store: ClipStore,
        key: ClipSigner,
        audit: AuditLog,
        *,
        node: str,
        site: str,
        mask_hashes: dict[str, str | None] | None = None,
        on_clip: OnClip | None = None,
    ) -> None:
        super().__init__("clip-finalizer")
        self.store = store
        self.key = key
        self.audit = audit
        self.node = node
        self.site = site
        self.mask_hashes = mask_hashes if mask_hashes is not None else {}
        self.on_clip = on_clip
        self.written = 0
        self.failed = 0
        self.recovered = 0
        self.journal_dir = store.journal_dir
        self.cameras: frozenset[str] | None = None
        """Cameras whose recorders journal their clips (None: not attached)."""
        self.lost = LostReport()
        self._queue: queue.Queue[ClipJob | None] = queue.Queue()
        self._unqueued: list[tuple[dict[str, Any], Path, Path | None]] = []
        self._unwritten: list[ClipJob] = []
        self._disk_refusals = Repeats(every_s=60.0)
        """A full disk refuses every clip every RETRY_S: told at once, then once a minute."""
        self.native_id: int | None = None
        """The writer thread's OS thread id, once it runs."""

    def attach(
        self,
        recorders: Mapping[str, ClipRecorder],
        factory: EventFactory,
        emit: Callable[[Event], None],
    ) -> None:
        """Have *recorders* journal their open clips; clips lost are *emit*ted as
        ``clip_lost`` events made by *factory*; journals left over are recovered at start."""
        for camera, rec in recorders.items():
            rec.journals = Journals(
                self.journal_dir, camera, self.mask_hashes.get(camera), self.store.keep_free_bytes
            )
        self.cameras = frozenset(recorders)
        self.lost = LostReport(factory, emit)

    def submit(self, job: ClipJob) -> None:
        """Queue a cut (called by recorders, from capture threads)."""
        self._queue.put(job)

    def start(self) -> None:
        """Start the writer thread; it first recovers the journals a node that did not stop
        cleanly left (listed now, before any recorder opens a new one)."""
        left = leftovers(self.journal_dir) if self.cameras is not None else []
        self.spawn(self._run, "clip-finalizer", left)

    def _stopping(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued is written; False when *timeout* passed first (no
        helper thread is left behind waiting)."""
        deadline = time.monotonic() + timeout
        q = self._queue
        with q.all_tasks_done:
            while q.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                q.all_tasks_done.wait(left)
        return True

    def _run(self, left: list[Path]) -> None:
        self.native_id = threading.get_native_id()
        lower_priority(self.native_id, NICE)
        if left:
            self.recovered += recovery.recover(self, left)
        while True:
            waiting = self._unqueued or self._unwritten
            try:
                job = self._queue.get(timeout=RETRY_S if waiting else None)
            except queue.Empty:
                self._again()
                continue
            try:
                if job is None:
                    self._again()  # what still fails keeps its journal: next start
                    return
                self._one(job)
            finally:
                self._queue.task_done()

    def _one(self, job: ClipJob) -> None:
        try:
            self.process(job)
        except SigningKeyError as e:  # the journal stays: made at a start with a key
            self.failed += 1
            not_signed(job.camera, job.clip_id, str(e))
        except ClipDiskError as e:
            self.not_written(job, str(e))
        except (QuotaError, ClipWriteError, OSError) as e:
            self._failed(job, str(e))
        except Exception as e:  # the writer thread must outlive any one bad clip
            log.exception("clip.crashed", clip=job.clip_id)
            self._failed(job, f"{type(e).__name__}: {e}")

    @property
    def refused_writes(self) -> int:
        """Writes the disk refused since the finaliser started (each retry counts)."""
        return self._disk_refusals.total

    def not_written(self, job: ClipJob, error: str) -> None:
        """The disk refused the MP4 (full): the clip's packets are safe in its journal, so it
        is written again every :data:`RETRY_S` (the store makes room first, or says it cannot:
        then it is told as lost); at a stop its journal stays for the next start."""
        if job.journal is None or not job.journal.exists():
            self._failed(job, error)
            return
        covered = self._disk_refusals.occurred()
        if covered is not None:  # at once, then once a minute while the disk stays full
            log.error("clip.not_written", camera=job.camera, clip=job.clip_id, error=error,
                      kept=str(job.journal), times=covered)  # fmt: skip
        self._unwritten.append(job)

    def _again(self) -> None:
        """Hand on again what the outbox could not take, write again what the disk refused."""
        self._queue_again()
        waiting, self._unwritten = self._unwritten, []
        for job in waiting:
            self._one(job)

    def _failed(self, job: ClipJob | None, error: str) -> None:
        self.failed += 1
        log.error(
            "clip.failed",
            camera=job.camera if job else None,
            clip=job.clip_id if job else None,
            error=error,
        )
        span = None if job is None else _span(job)
        if job is not None and span is not None:
            start, end = span
            self.lost(LostClip(job.clip_id, job.camera, start, end, "not_written", error,
                               frozenset(job.event_ids)))  # fmt: skip
            discard(job.journal)

    def process(self, job: ClipJob, **audit: Any) -> tuple[dict[str, Any], Path]:
        """Write, sign and store one clip; returns the signed manifest and the clip path.
        *audit* adds fields to its audit record (``recovered``). Its journal goes once the
        clip is stored and handed on."""
        packets = job.stream()  # a long clip's packets read from its journal as written
        self.store.reserve(int(packets.estimate() * 1.05) + 128 * 1024)
        path = self.store.path_for(f"{job.clip_id}.mp4")
        written = write_mp4(path, job.info, packets)
        if packets.short:
            log.error("clip.journal_short", camera=job.camera, clip=job.clip_id,
                      wanted=job.spilled, read=job.spilled - packets.short)  # fmt: skip
        try:
            manifest = build_manifest(
                clip_id=job.clip_id,
                path=path,
                node=self.node,
                site=self.site,
                camera=job.camera,
                start=written.first_wall,
                end=written.last_wall,
                duration_s=written.duration_s,
                event_ids=job.event_ids,
                mask_hash=self.mask_hashes.get(job.camera),
                method=job.method,
            )
            signed = sign_manifest(manifest, self.key)
        except BaseException:  # not stored: no file outside retention is left behind
            path.unlink(missing_ok=True)
            raise
        self.store.add(job.clip_id, "clip", job.camera, path)
        mpath = self.store.path_for(f"{job.clip_id}.manifest.json")
        mpath.write_text(json.dumps(signed, indent=1, sort_keys=True))
        self.store.add(f"{job.clip_id}.manifest", "manifest", job.camera, mpath)
        self.audit.append(
            "recorded",
            "clip",
            job.clip_id,
            None,
            manifest["sha256"],
            camera=job.camera,
            bytes=manifest["size"],
            method=job.method,
            event_ids=sorted(job.event_ids),
            **audit,
        )
        self.written += 1
        log.info(
            "clip.saved",
            camera=job.camera,
            clip=job.clip_id,
            seconds=written.duration_s,
            bytes=written.bytes,
            method=job.method,
        )
        self.hand_on(signed, path, job.journal)
        return signed, path

    def hand_on(self, signed: dict[str, Any], path: Path, journal: Path | None) -> None:
        """Queue a stored clip for delivery, then remove its journal. When the outbox cannot
        take it (a full disk) it is tried again every :data:`RETRY_S`, its journal kept."""
        if self.on_clip is not None:
            try:
                self.on_clip(signed, path)
            except OutboxError as e:
                m = signed["manifest"]
                log.warning("clip.not_queued", camera=m["camera"], clip=m["clip_id"], error=str(e))
                self._unqueued.append((signed, path, journal))
                return
        discard(journal)

    def _queue_again(self) -> None:
        """Hand on the stored clips the outbox could not take; their journals go once it
        does (those left make the next start queue them)."""
        waiting, self._unqueued = self._unqueued, []
        for n, (signed, path, journal) in enumerate(waiting):
            try:
                if self.on_clip is not None:
                    self.on_clip(signed, path)
            except OutboxError:
                self._unqueued = waiting[n:]
                return
            log.info("clip.queued", clip=signed["manifest"]["clip_id"], late=True)
            discard(journal)


def _span(job: ClipJob) -> tuple[float, float] | None:
    """Wall-clock time of a clip's first and last packet (read through its journal), None
    without packets."""
    first = last = None
    for p in job.stream():
        first = p.wall if first is None else first
        last = p.wall
    return None if first is None or last is None else (first, last)


def lower_priority(tid: int, by: int) -> None:
    """Make OS thread *tid* (one of this process's) *by* nice levels less urgent (Linux
    schedules threads one by one: the rest of the node keeps its priority). Where that is
    not possible it is logged and the thread runs on as it is."""
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + by))
    except OSError as e:
        log.warning("clip.priority_unchanged", thread=tid, error=str(e))
