"""How much hostility the store keeps: the aggregation window of ``forged_message`` alerts,
the quarantine's cap and payload prefix, and the caps and age of chunks waiting for a
clip that may never complete. Defaults match the config's; :meth:`Bounds.of` takes them from
a :class:`~edge.receiver.config.ReceiverConfig`."""

from __future__ import annotations

from dataclasses import dataclass

from edge.receiver.config import ReceiverConfig


@dataclass(frozen=True, slots=True)
class Bounds:
    """The limits the store applies while committing and while being supervised."""

    topic_prefix: str = "warehouse"
    """The broker's topic prefix (a refused message's source is read from its topic)."""
    forged_window_s: float = 3600.0
    """Quarantined messages of one source and reason within this long make one alert."""
    forged_max_sources: int = 100
    """Open forged_message alerts at most; further sources count into source ``*``."""
    quarantine_rows: int = 10_000
    """Quarantined messages kept; the oldest are dropped first (and counted)."""
    keep_bytes: int = 4096
    """Bytes of a quarantined payload kept (its sha256 and size always)."""
    orphan_after_s: float = 86400.0
    """Chunks of a clip with no progress for this long are dropped."""
    orphan_max_chunks: int = 200_000
    """Chunks waiting per node at most."""
    orphan_max_bytes: int = 2 << 30
    """Bytes of chunks waiting per node at most."""

    @classmethod
    def of(cls, cfg: ReceiverConfig) -> Bounds:
        """The bounds *cfg* sets."""
        s, c, q = cfg.supervision, cfg.clips, cfg.quarantine
        return cls(
            topic_prefix=cfg.broker.topic_prefix,
            forged_window_s=s.forged_window_s,
            forged_max_sources=s.forged_max_sources,
            quarantine_rows=q.max_rows,
            keep_bytes=q.keep_bytes,
            orphan_after_s=c.orphan_chunks_after_s,
            orphan_max_chunks=c.orphan_max_chunks,
            orphan_max_bytes=c.orphan_max_bytes,
        )
