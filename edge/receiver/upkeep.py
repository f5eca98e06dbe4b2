"""Evidence upkeep, run by the supervision loop: clips whose assembly failed (a full disk)
are assembled once space returns, and chunks waiting for a clip that may never complete
(no manifest, or chunks that stopped) are bounded per node and expire.

* **Retry.** A pending or incomplete clip with its manifest and every chunk in the store
  failed to assemble (``OSError``: no space, an unwritable directory): each round tries
  again; the chunks stay in the store until it works.
* **Orphans.** Chunks of a clip with no progress for ``orphan_chunks_after_s`` are dropped;
  per node, chunks beyond ``orphan_max_chunks`` or ``orphan_max_bytes`` are dropped from its
  least recently updated clips first. Each drop is one log line (``clip.orphans_dropped``)
  and counted in the ``dropped`` table (``orphan_chunks_expired``, ``orphan_chunks_evicted``).
  A clip with a manifest stays (``incomplete``, alerted, the drop in its detail); one with
  none is forgotten (its ``clip_incomplete`` alert cleared: the log line and the count say
  what happened).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.bounds import Bounds
from edge.receiver.clips import ClipKey, try_complete
from edge.receiver.retention import Retention
from edge.receiver.store import cliprows
from edge.receiver.store.database import Cursor
from edge.receiver.store.hostility import count_dropped
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import apply_alerts

log = get_logger(__name__)

ORPHANS_EVERY_S = 60.0
"""How often the chunk table is scanned for orphans (a bound, not a deadline)."""


def assemblable(store: ReceiverStore) -> list[ClipKey]:
    """Clips not assembled yet although their manifest and every chunk are stored."""
    return cliprows.assemblable(store.db)


def retry_assembly(store: ReceiverStore) -> dict[ClipKey, str | None]:
    """Try every :func:`assemblable` clip again; their states afterwards (a clip that still
    fails, on the file system or otherwise, is left pending and logged; the others are
    tried all the same)."""
    out: dict[ClipKey, str | None] = {}
    for key in assemblable(store):
        try:
            out[key] = try_complete(store, key)
        except Exception as e:  # one clip's trouble must not stop the others
            log.error("clip.assembly_failed", site=key[0], node=key[1], clip=key[2],
                      error=f"{type(e).__name__}: {e}", retry="next supervision round")  # fmt: skip
            continue
        log.info("clip.assembly_retried", site=key[0], node=key[1], clip=key[2],
                 state=out[key])  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class Waiting:
    """The chunks one clip has waiting in the store."""

    key: ClipKey
    chunks: int
    size: int
    updated: float
    manifest: bool


def waiting(cur: Cursor) -> list[Waiting]:
    """Every clip with chunks in the store (length() reads no blob content)."""
    return [Waiting(*row) for row in cliprows.waiting(cur)]


def drop_orphans(store: ReceiverStore, now: float | None = None) -> dict[str, int]:
    """Drop expired chunks, then chunks over each node's caps (oldest clips first); the
    chunks dropped by why (``expired``, ``evicted``)."""
    b: Bounds = store.bounds
    now = time.time() if now is None else now
    dropped = {"expired": 0, "evicted": 0}
    with store.db.transaction() as cur:
        per_node: dict[tuple[str, str], list[Waiting]] = {}
        for w in sorted(waiting(cur), key=lambda w: w.updated):
            if w.updated < now - b.orphan_after_s:
                _drop(cur, w, "expired", f"no progress for {b.orphan_after_s:.0f} s", now)
                dropped["expired"] += w.chunks
            else:
                per_node.setdefault(w.key[:2], []).append(w)
        for clips in per_node.values():
            chunks, size = sum(w.chunks for w in clips), sum(w.size for w in clips)
            for w in clips:  # least recently updated first
                if chunks <= b.orphan_max_chunks and size <= b.orphan_max_bytes:
                    break
                why = (f"over the node's cap of {b.orphan_max_chunks} chunks or"
                       f" {b.orphan_max_bytes} bytes waiting")  # fmt: skip
                _drop(cur, w, "evicted", why, now)
                dropped["evicted"] += w.chunks
                chunks, size = chunks - w.chunks, size - w.size
    return dropped


def _drop(cur: Cursor, w: Waiting, what: str, why: str, now: float) -> None:
    site, node, clip_id = w.key
    cliprows.drop_chunks(cur, w.key)
    count_dropped(cur, f"orphan_chunks_{what}", w.chunks, w.size, now)
    detail = f"{w.chunks} chunks ({w.size} bytes) dropped: {why}"
    if w.manifest:
        if cliprows.mark_incomplete(cur, w.key, detail):
            apply_alerts(cur, [AlertOp(True, AlertKind.CLIP_INCOMPLETE, site, node, clip_id,
                                       detail)], now)  # fmt: skip
    else:  # nothing can complete it now: its clip_incomplete alert is settled by the drop
        cliprows.forget_unsigned(cur, w.key)
        apply_alerts(cur, [AlertOp(False, AlertKind.CLIP_INCOMPLETE, site, node, clip_id)], now)
    log.warning("clip.orphans_dropped", site=site, node=node, clip=clip_id, why=what,
                chunks=w.chunks, bytes=w.size, detail=why)  # fmt: skip


class Upkeep:
    """The supervision loop's evidence upkeep: assembly retried every round, orphans
    looked for every *orphans_every_s*, and the *retention* pass when it is due
    (:mod:`edge.receiver.retention`)."""

    def __init__(
        self, store: ReceiverStore, orphans_every_s: float = ORPHANS_EVERY_S,
        retention: Retention | None = None,
    ) -> None:  # fmt: skip
        self.store = store
        self.orphans_every_s = orphans_every_s
        self._orphans_at = 0.0
        self.retention = retention

    def run(self) -> None:
        """One round."""
        retry_assembly(self.store)
        now = time.monotonic()
        if now - self._orphans_at >= self.orphans_every_s:
            self._orphans_at = now
            drop_orphans(self.store)
        if self.retention is not None:
            self.retention.run()
