"""The node's evidence state, opened so that none of it can stop the node (life safety before
evidence, docs/faults.md): the signing key (or the reason there is none), the audit log (a
damaged one set aside, a new chain started), the destinations that wait for their files,
and what the node runs without because of them (:class:`~edge.node.degraded.Degraded`).
Also how the composition root stops the node within its budget."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from edge.config.root import EdgeConfig
from edge.core.lifecycle import Worker
from edge.events.sink import EventStore
from edge.evidence.audit_setaside import open_audit
from edge.evidence.keyslot import KeySlot
from edge.link.factory import Delivery
from edge.link.mqtt import MqttLink
from edge.node.degraded import Degraded
from edge.node.enrolment import PendingLinks, waiting_destinations
from edge.node.keywait import HELD_NAME, HeldEvents, KeyGate, KeyWatch
from edge.node.lifecycle import CAMERA_STOP_S, Lifecycle
from edge.node.sharing_audit import record_sharing

EXIT_MARGIN_S = 2.0
"""Kept from the stop budget for closing the stores and the process's exit."""


class LinkHost(Protocol):
    """Where a destination that waited joins the others (the node)."""

    links: list[MqttLink]
    lifecycle: Lifecycle


class StateParts:
    """Key slot, audit log, waiting destinations and the node's standing faults for *cfg*."""

    def __init__(self, cfg: EdgeConfig) -> None:
        self.cfg = cfg
        self.degraded = Degraded()
        self.key = KeySlot(cfg.key_path)
        self.audit, self.chain_break = open_audit(cfg.audit_path, signer=self.key.key)
        if self.chain_break is not None:
            kept = self.chain_break.kept_as
            self.degraded.set("audit", f"audit_log_set_aside:{kept}", kept_as=str(kept))
        record_sharing(cfg, self.audit)  # masks, private flags, destinations' cameras changed
        self.waiting = waiting_destinations(cfg)

    def key_watch(self, store: EventStore) -> KeyWatch:
        """The watch over the key, its gate in front of *store* (events held on disk beside
        the outbox while there is no key)."""
        held = HeldEvents(self.cfg.outbox_path.with_name(HELD_NAME))
        return KeyWatch(self.key, self.audit, KeyGate(store, self.key, held), self.degraded)

    def pending(self, delivery: Delivery, node: LinkHost) -> PendingLinks:
        """The destinations that wait; each, once its files are usable, joins *node*'s links
        and its lifecycle in front (it stops last, with the other links)."""

        def started(link: MqttLink) -> None:
            node.lifecycle.add(link, first=True)

        return PendingLinks(self.cfg, self.waiting, delivery.link, node.links,
                            started=started, degraded=self.degraded)  # fmt: skip

    def standing(self) -> list[str]:
        """What the node runs without and why (naming the files), and the audit log's breaks."""
        return [*self.degraded.reasons(), *self.audit.reasons]


def stop_within(lifecycle: Lifecycle, cameras: Sequence[Worker], budget_s: float) -> list[str]:
    """Stop *lifecycle* within *budget_s* less :data:`EXIT_MARGIN_S`; every camera is asked
    at once first and given :data:`CAMERA_STOP_S` together, so analysis stuck in a call costs
    the stop that much, not the budget. Returns the services left behind."""
    deadline = time.monotonic() + budget_s - EXIT_MARGIN_S
    for camera in cameras:
        camera.stop()
    cameras_by = time.monotonic() + CAMERA_STOP_S
    late = [c.name for c in cameras if not c.join(cameras_by - time.monotonic())]
    return lifecycle.stop(timeout_each=30.0, deadline=deadline, abandoned=late)
