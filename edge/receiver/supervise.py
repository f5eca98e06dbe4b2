"""Supervision: nodes whose heartbeats stop are ``node_offline`` (the heartbeat and the
retained status clear and raise it as they arrive; this loop catches silence), clips whose
chunks stop are ``incomplete``, and the key registry follows enrolments."""

from __future__ import annotations

import time

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.receiver.ackaudit.appender import Appender
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.clips import expire
from edge.receiver.config import ReceiverConfig
from edge.receiver.expiry import ExpiryCheck
from edge.receiver.integrity import IntegrityCheck
from edge.receiver.presence import LinkWatch, Presence
from edge.receiver.retention import Retention
from edge.receiver.store import presencerows
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Registry
from edge.receiver.upkeep import Upkeep

log = get_logger(__name__)


def silent_nodes(store: ReceiverStore, offline_after_s: float) -> list[AlertOp]:
    """node_offline for every enrolled node not heard from for *offline_after_s*."""
    cutoff = time.time() - offline_after_s
    return [
        AlertOp(True, AlertKind.NODE_OFFLINE, s, n, "", f"no heartbeat for {time.time() - t:.0f} s")
        for s, n, t in presencerows.silent_since(store.db, cutoff)
    ]


class Supervisor:
    """The periodic checks, on their own thread (owned by :attr:`worker`: a round that fails
    is logged and the next one tries again; a thread that dies anyway is logged
    ``thread.died`` and reported, and the receiver ends the process)."""

    def __init__(
        self,
        cfg: ReceiverConfig,
        store: ReceiverStore,
        registry: Registry,
        link: LinkWatch | None = None,
    ) -> None:
        self.cfg, self.store, self.registry = cfg, store, registry
        self.presence = Presence(link) if link is not None else None
        """Judges offline statuses against the broker link's outages (presence.py)."""
        r = cfg.retention
        self.upkeep = Upkeep(store, retention=Retention(
            store, Appender(store.db, cfg.data_dir, cfg.receiver.name), r.days,
            r.check_interval_s, batch=r.batch))  # fmt: skip
        self.integrity = IntegrityCheck(store)
        self.expiry = ExpiryCheck(cfg, store)
        """Certificates and CRLs near expiry (cert_expiring, crl_expiring)."""
        self.worker = Worker("receiver-supervise")
        self._stop = self.worker.stopping

    def start(self) -> None:
        """Start checking."""
        self.worker.spawn(self._run, "receiver-supervise")

    def stop(self) -> None:
        """Stop checking (a standby never started: nothing to wait for)."""
        self.worker.shutdown(5)

    def check(self) -> None:
        """One round of checks."""
        self.registry.replace(self.store.identities())
        ops = silent_nodes(self.store, self.cfg.supervision.offline_after_s)
        if self.presence is not None:
            ops += self.presence.judge(self.store.db)
        if ops:
            self.store.alerts(ops)
        expire(self.store, self.cfg.clips.incomplete_after_s)
        self.integrity.run()
        self.upkeep.run()
        self.expiry.run()

    def _run(self) -> None:
        while not self._stop.wait(self.cfg.supervision.check_interval_s):
            try:
                self.check()
            except Exception as e:  # a store outage must not end supervision
                log.error("supervise.failed", error=str(e))
