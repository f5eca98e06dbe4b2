"""The node's clip parts, wired: the finalizer (write, sign, store, hand on), one recorder per
running camera, each journaling the clip it cuts (recovered at the next start if the node
dies), and lost clips reported as ``clip_lost`` events through the node's event path."""

from __future__ import annotations

from typing import Protocol

from edge.clips.finalize import ClipFinalizer, ClipSigner
from edge.clips.recorder import ClipRecorder
from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.path import EventPath
from edge.evidence.audit import AuditLog
from edge.node.cameras import CameraPlan, build_recorders
from edge.outbox.queue import DeliveryQueue


class ClipNode(Protocol):
    """What of the node the clip parts use (``edge.node.node.Node``)."""

    @property
    def cfg(self) -> EdgeConfig:
        """The node's config."""
        ...

    @property
    def store(self) -> ClipStore:
        """Local retention."""
        ...

    @property
    def key(self) -> ClipSigner:
        """The signing key."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit chain."""
        ...

    @property
    def delivery(self) -> DeliveryQueue:
        """Where a stored clip is queued."""
        ...

    @property
    def factory(self) -> EventFactory:
        """Makes events."""
        ...

    @property
    def path(self) -> EventPath:
        """Where events are accepted (it may be built after the clip parts)."""
        ...


def build_clips(node: ClipNode, plan: CameraPlan) -> tuple[ClipFinalizer, dict[str, ClipRecorder]]:
    """The finalizer and the recorders of *node* (its store, key, audit log, delivery and
    event factory must exist; its event path may come later: lost clips are reported once
    the node runs)."""
    cfg = node.cfg
    finalizer = ClipFinalizer(
        node.store,
        node.key,
        node.audit,
        node=cfg.node.id,
        site=cfg.node.site,
        mask_hashes=plan.mask_hashes,
        on_clip=node.delivery.clip,
    )
    recorders = build_recorders(plan, cfg.clips, finalizer.submit)

    def emit(event: Event) -> None:
        node.path.accept(event)

    finalizer.attach(recorders, node.factory, emit)
    return finalizer, recorders
