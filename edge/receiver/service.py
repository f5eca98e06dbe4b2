"""The receiver: ingest -> commit in batches -> acknowledge -> assemble clips, with the
supervision loop beside it. ``edge receive --config receiver.toml`` runs one."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from edge.core.logs import get_logger
from edge.receiver.bounds import Bounds
from edge.receiver.clips import try_complete
from edge.receiver.config import ReceiverConfig
from edge.receiver.ingest import Arrival, Ingest
from edge.receiver.messages import Verdict
from edge.receiver.store.database import StoreError
from edge.receiver.store.store import ReceiverStore
from edge.receiver.supervise import Supervisor
from edge.receiver.trust import Checker, Registry

log = get_logger(__name__)

CHECK_THREADS = 2
"""Threads that verify a batch's signatures (Ed25519 verification runs outside the GIL)."""


class Receiver:
    """One receiver process's parts, started and stopped together."""

    def __init__(
        self,
        cfg: ReceiverConfig,
        store: ReceiverStore | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store or ReceiverStore(cfg.store_url, cfg.data_dir)
        self.store.bounds = Bounds.of(cfg)
        self.registry = Registry(self.store.identities())
        checker = Checker(
            self.registry, cfg.broker.topic_prefix, max_clip_bytes=cfg.clips.max_bytes
        )
        self.ingest = Ingest(cfg, checker, self._reload)
        self.supervisor = Supervisor(cfg, self.store, self.registry)
        self._errors: tuple[type[BaseException], ...] = (StoreError, *self.store.db.errors)
        self._file_errors: tuple[type[BaseException], ...] = (OSError, *self.store.db.errors)
        self.committed = 0
        self.store_failures = 0
        """Commits that failed (and were retried): a full disk, the database away."""
        self._stop = threading.Event()
        self._checkers = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="receiver-check")
        self._writer = threading.Thread(target=self._write, name="receiver-writer", daemon=True)

    def _reload(self) -> None:
        try:
            self.registry.replace(self.store.identities())
        except self.store.db.errors as e:
            log.error("receiver.keys_unreadable", error=str(e))

    def start(self) -> None:
        """Start writing, supervising and receiving."""
        self._writer.start()
        self.supervisor.start()
        self.ingest.start()
        log.info("receiver.started", name=self.cfg.receiver.name, store=self.store.db.engine)

    def stop(self) -> None:
        """Stop receiving, then finish the batch in hand (its acks are lost with the
        connection; the broker sends those messages again and the store drops them)."""
        self.ingest.stop()
        self._stop.set()
        self._writer.join(10)
        self._checkers.shutdown()
        self.supervisor.stop()
        self.store.close()
        log.info("receiver.stopped", committed=self.committed)

    def _batch(self) -> list[Arrival]:
        r = self.cfg.receiver
        try:
            first = self.ingest.arrivals.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + r.batch_wait_ms / 1000
        while len(batch) < r.batch_max:
            left = deadline - time.monotonic()
            try:
                batch.append(
                    self.ingest.arrivals.get(timeout=left)
                    if left > 0
                    else self.ingest.arrivals.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _write(self) -> None:
        while not self._stop.is_set() or not self.ingest.arrivals.empty():
            batch = self._batch()
            if batch:
                self._commit(batch)

    def _verdicts(self, batch: list[Arrival]) -> list[Verdict]:
        """Check a batch, split over the checker threads, in order."""
        if len(batch) < 2 * CHECK_THREADS:
            return [self.ingest.check(a) for a in batch]
        parts = [batch[i::CHECK_THREADS] for i in range(CHECK_THREADS)]
        checked = list(self._checkers.map(lambda part: [self.ingest.check(a) for a in part], parts))
        out: list[Verdict] = [checked[0][0]] * len(batch)
        for i, part in enumerate(checked):
            out[i::CHECK_THREADS] = part
        return out

    def _commit(self, batch: list[Arrival]) -> None:
        """Commit until it works (a store outage holds the acks back, loses nothing)."""
        delay = 0.5
        verdicts = self._verdicts(batch)
        while True:
            try:
                done = self.store.commit(verdicts, queue_limit=self.cfg.supervision.degraded_queue)
                break
            except self._errors as e:
                self.store_failures += 1
                log.error("receiver.store_failed", error=str(e), waiting=len(batch))
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 10)
        self.ingest.ack(batch)
        self.committed += done.stored
        for r in done.quarantined:
            log.warning("receiver.quarantined", node=r.node, topic=r.topic, reason=str(r.reason),
                        detail=r.detail)  # fmt: skip
        for key in sorted(done.clips):
            try:
                try_complete(self.store, key)
            except self._file_errors as e:
                log.error("clip.assembly_failed", clip=key[2], error=str(e))
        for a in done.events:
            log.debug("event.received", node=a.node, kind=a.data.get("kind"), id=a.id)
