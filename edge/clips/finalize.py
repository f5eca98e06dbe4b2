"""Turn a cut into evidence: write the MP4 (remux or the node's own encode), hash it, sign its
manifest, keep both under retention, note it in the audit chain, hand it on for delivery.
Runs in its own thread so cameras never wait for the disk."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.clips.mp4 import ClipWriteError, write_mp4
from edge.clips.recorder import ClipJob
from edge.clips.store import ClipStore, QuotaError
from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import build_manifest, sign_manifest

log = get_logger(__name__)

OnClip = Callable[[dict[str, Any], Path], None]


class ClipFinalizer(Worker):
    """Writes, signs and stores clips handed over by the recorders (one thread)."""

    def __init__(
        self,
        store: ClipStore,
        key: NodeKey,
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
        self._queue: queue.Queue[ClipJob | None] = queue.Queue()

    def submit(self, job: ClipJob) -> None:
        """Queue a cut (called by recorders, from capture threads)."""
        self._queue.put(job)

    def start(self) -> None:
        """Start the writer thread."""
        self.spawn(self._run, "clip-finalizer")

    def _stopping(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued is written."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self.process(job)
            except (QuotaError, ClipWriteError, OSError) as e:
                self.failed += 1
                log.error(
                    "clip.failed",
                    camera=job.camera if job else None,
                    clip=job.clip_id if job else None,
                    error=str(e),
                )
            except Exception:  # the writer thread must outlive any one bad clip
                self.failed += 1
                log.exception("clip.crashed", clip=job.clip_id if job else None)
            finally:
                self._queue.task_done()

    def process(self, job: ClipJob) -> tuple[dict[str, Any], Path]:
        """Write, sign and store one clip; returns the signed manifest and the clip path."""
        estimate = sum(len(p.data) for p in job.packets)
        self.store.reserve(int(estimate * 1.05) + 128 * 1024)
        path = self.store.path_for(f"{job.clip_id}.mp4")
        written = write_mp4(path, job.info, job.packets)
        manifest = build_manifest(
            clip_id=job.clip_id,
            path=path,
            node=self.node,
            site=self.site,
            camera=job.camera,
            start=job.packets[0].wall,
            end=job.packets[-1].wall,
            duration_s=written.duration_s,
            event_ids=job.event_ids,
            mask_hash=self.mask_hashes.get(job.camera),
            method=job.method,
        )
        signed = sign_manifest(manifest, self.key)
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
        if self.on_clip is not None:
            self.on_clip(signed, path)
        return signed, path
