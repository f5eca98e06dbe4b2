"""The node's delivery built from config: the outbox, what goes into it, one MQTT link per
destination, and the books kept when a destination acknowledges."""

from __future__ import annotations

from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.delivery.ledger import DeliveryLedger
from edge.delivery.mqtt import MqttLink
from edge.delivery.outbox import Outbox, limits_from
from edge.delivery.policy import SharingPolicy
from edge.delivery.queue import DeliveryQueue
from edge.evidence.audit import AuditLog
from edge.evidence.signing import Signer


class Delivery:
    """Outbox, queue, ledger and links of one node."""

    def __init__(
        self, cfg: EdgeConfig, audit: AuditLog, store: ClipStore, signer: Signer | None = None
    ) -> None:
        o = cfg.outbox
        self.outbox = Outbox(cfg.outbox_path, limits_from(o), reserve_bytes=o.reserve_bytes)
        policy = SharingPolicy(cfg.destinations)
        self.queue = DeliveryQueue(
            self.outbox,
            policy,
            store,
            chunk_size=o.chunk_size,
            signer=signer,
            site=cfg.node.site,
            node=cfg.node.id,
        )
        self.ledger = DeliveryLedger(self.outbox, audit, store)
        self.links = [
            MqttLink(
                d,
                cfg.node,
                self.outbox,
                window=o.max_inflight,
                max_chunks_inflight=o.max_chunks_inflight,
                on_ack=self.ledger.acknowledged,
                refusal_retry_max_s=d.refusal_retry_max_s,
            )
            for d in cfg.destinations
        ]
        for link in self.links:
            self.queue.on_put(link.wake)
            self.queue.on_unstorable(link.dest.name, link.offer)
