"""The receiver: ingest -> commit in batches -> acknowledge -> assemble clips, with the
supervision loop beside it. ``edge receive --config receiver.toml`` runs one."""

from __future__ import annotations

import queue
import time
from concurrent.futures import ThreadPoolExecutor

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.evidence.signing import payload_sha256
from edge.receiver.bounds import Bounds
from edge.receiver.clips import try_complete
from edge.receiver.commits import Committer, describe
from edge.receiver.config import ReceiverConfig
from edge.receiver.ingest import Arrival, Ingest
from edge.receiver.leader import leadership
from edge.receiver.messages import Reason, Rejected, Verdict
from edge.receiver.store.store import ReceiverStore
from edge.receiver.supervise import Supervisor
from edge.receiver.trust import Checker, Registry
from edge.receiver.validate import safe_text

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
        self.supervisor = Supervisor(cfg, self.store, self.registry, self.ingest.link)
        self.leadership = leadership(cfg, self._lead)
        """failover = "standby": supervising and receiving wait for the lead."""
        self.committed = 0
        self.writer = Worker("receiver-writer")
        """Owns the writer thread; a writer that dies is logged ``thread.died`` and reported
        by :meth:`dead` (the liveness loop then ends the process: systemd restarts it)."""
        self._stop = self.writer.stopping
        self.beat = time.monotonic()
        """When the writer last showed it is alive (a batch, a try, an idle wait)."""
        self.committer = Committer(self.store, self._stop, self._beat,
                                   queue_limit=cfg.supervision.degraded_queue)  # fmt: skip
        self._checkers = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="receiver-check")

    def _reload(self) -> None:
        try:
            self.registry.replace(self.store.identities())
        except self.store.db.errors as e:
            log.error("receiver.keys_unreadable", error=str(e))

    @property
    def store_failures(self) -> int:
        """Commits that failed (and were retried): a full disk, the database away."""
        return self.committer.failures

    def _beat(self) -> None:
        self.beat = time.monotonic()

    def dead(self) -> list[str]:
        """The threads that ended though the receiver was not stopped (``name: why``)."""
        if self._stop.is_set():
            return []
        out = [f"{w.name}: {h.detail or 'ended'}" for w in (self.writer, self.supervisor.worker)
               if not (h := w.health()).alive]  # fmt: skip
        if self.ingest.dead is not None:
            out.append(f"receiver-mqtt: {self.ingest.dead}")
        return out

    def stalled_s(self) -> float:
        """Seconds since the writer last showed it is alive: it beats at least every
        fraction of a second while idle, at every batch and at every try of a commit
        (waiting out a database that is away counts: it is trying)."""
        return time.monotonic() - self.beat

    def start(self) -> None:
        """Start writing, supervising and receiving (a standby: once it leads)."""
        self.writer.spawn(self._write, "receiver-writer")
        if self.leadership is None:
            self._lead()
        else:
            self.leadership.start()
        log.info("receiver.started", name=self.cfg.receiver.name, store=self.store.db.engine,
                 failover=self.cfg.failover)  # fmt: skip

    def _lead(self) -> None:
        self.supervisor.start()
        self.ingest.start()

    def stop(self) -> None:
        """Stop taking arrivals, commit and acknowledge what is queued, then disconnect
        (what arrived after the hold is unacknowledged: the broker sends it again next
        time). A writer still busy after 10 s (the database away) loses only its acks."""
        if self.leadership is not None:
            self.leadership.stop()
        self.ingest.hold()
        self.writer.stop()
        self.writer.join(10)
        self.ingest.stop()
        self._checkers.shutdown()
        self.supervisor.stop()
        self.store.close()
        if self.leadership is not None:
            self.leadership.release()  # only now may the standby take the session
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
            self._beat()
            batch = self._batch()
            if batch:
                self._commit(batch)

    def _judge(self, a: Arrival) -> Verdict:
        """The verdict on one arrival; an exception quarantines it (``error``)."""
        try:
            return self.ingest.check(a)
        except Exception as e:
            return Rejected(Reason.ERROR, describe(e), safe_text(a.topic), a.payload,
                            payload_sha256(a.payload))  # fmt: skip

    def _verdicts(self, batch: list[Arrival]) -> list[Verdict]:
        """Check a batch, split over the checker threads, in order."""
        if len(batch) < 2 * CHECK_THREADS:
            return [self._judge(a) for a in batch]
        parts = [batch[i::CHECK_THREADS] for i in range(CHECK_THREADS)]
        checked = list(self._checkers.map(lambda part: [self._judge(a) for a in part], parts))
        out: list[Verdict] = [checked[0][0]] * len(batch)
        for i, part in enumerate(checked):
            out[i::CHECK_THREADS] = part
        return out

    def _commit(self, batch: list[Arrival]) -> None:
        """Commit until it works (a store outage holds the acks back, loses nothing; a
        message that cannot be stored is quarantined alone: :mod:`edge.receiver.commits`)."""
        verdicts = self._verdicts(batch)
        done = self.committer.commit(verdicts)
        if done is None:  # stopped while the store was away: the broker sends them again
            return
        self.ingest.ack(batch)
        self.committed += done.stored
        for r in done.quarantined:
            log.warning("receiver.quarantined", node=r.node, topic=r.topic, reason=str(r.reason),
                        detail=r.detail)  # fmt: skip
        for key in sorted(done.clips):
            try:
                try_complete(self.store, key)
            except Exception as e:  # a clip's trouble must not stop the writer
                log.error("clip.assembly_failed", clip=key[2], error=describe(e))
        for a in done.events:
            log.debug("event.received", node=a.node, kind=a.data.get("kind"), id=a.id)
