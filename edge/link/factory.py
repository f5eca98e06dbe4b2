"""The node's delivery built from config: the outbox, what goes into it, one MQTT link per
destination, and the books kept when a destination acknowledges."""

from __future__ import annotations

import functools
from collections.abc import Collection

from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.config.transport import DestinationConfig
from edge.evidence.audit import AuditLog
from edge.evidence.signing import Signer
from edge.link.mqtt import MqttLink
from edge.outbox.ledger import DeliveryLedger
from edge.outbox.policy import SharingPolicy
from edge.outbox.queue import DeliveryQueue, route
from edge.outbox.store import Outbox, limits_from


class Delivery:
    """Outbox, queue, ledger and links of one node."""

    def __init__(
        self,
        cfg: EdgeConfig,
        audit: AuditLog,
        store: ClipStore,
        signer: Signer | None = None,
        waiting: Collection[str] = (),
    ) -> None:
        """*waiting*: destinations whose links are not built now (see :meth:`link`)."""
        o = cfg.outbox
        policy = SharingPolicy(cfg.destinations)
        self.outbox = Outbox(
            cfg.outbox_path,
            limits_from(o),
            reserve_bytes=o.reserve_bytes,
            route=functools.partial(route, policy),  # a damaged file's lost delivery rows
        )
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
        self._cfg = cfg
        self.links = [self.link(d) for d in cfg.destinations if d.name not in waiting]

    def link(self, d: DestinationConfig) -> MqttLink:
        """The link to destination *d*, wired to the queue (built at start, or later for a
        destination that waited for its files)."""
        o = self._cfg.outbox
        link = MqttLink(
            d,
            self._cfg.node,
            self.outbox,
            window=o.max_inflight,
            max_chunks_inflight=o.max_chunks_inflight,
            books=self.ledger,  # audit record first, then out of the outbox
            refusal_retry_max_s=d.refusal_retry_max_s,
        )
        self.queue.on_put(link.wake)
        self.queue.on_unstorable(d.name, link.offer)
        return link
