"""A per-interval series for ``edge bench capacity --json``: when analysis frames were
dropped against when clips closed, and RSS over time (issue 27: do clips closing together
stall analysis? does RSS step up when they do?)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.bench.capacity_parts import ProcSample, camera_counters, read_state


@dataclass
class Timeline:
    """Points of (seconds into the window, RSS MB, CPU % of the machine since the last point,
    analysis frames dropped and clips saved since the window began). Drops come from the
    state file (written every heartbeat), clips from ``clip.saved`` lines in the node's log."""

    state: Path
    logfile: Path
    cores: int
    points: list[dict[str, Any]] = field(default_factory=list)
    _log_at: int = 0
    _clips: int = 0
    _first: ProcSample | None = None
    _last: ProcSample | None = None
    _dropped0: int | None = None

    def start(self) -> None:
        """Skip what the log holds before the window."""
        self._log_at = self.logfile.stat().st_size if self.logfile.exists() else 0

    def add(self, sample: ProcSample) -> None:
        """One point at *sample* (a state file being replaced keeps the last drop count)."""
        self._clips += self._new_clips()
        s = read_state(self.state)
        dropped = sum(d for _, d in camera_counters(s).values()) if s is not None else None
        if dropped is not None and self._dropped0 is None:
            self._dropped0 = dropped
        prev = self._last
        self._first = self._first or sample
        cpu = 0.0
        if prev is not None and sample.at > prev.at:
            cpu = 100 * (sample.cpu_s - prev.cpu_s) / (sample.at - prev.at) / self.cores
        last_drop = self.points[-1]["dropped"] if self.points else 0
        self.points.append(
            {
                "t": round(sample.at - self._first.at, 1),
                "rss_mb": round(sample.rss_mb, 1),
                "cpu_pct": round(cpu, 1),
                "dropped": last_drop if dropped is None else dropped - (self._dropped0 or 0),
                "clips": self._clips,
            }
        )
        self._last = sample

    def _new_clips(self) -> int:
        try:
            with self.logfile.open("rb") as f:
                f.seek(self._log_at)
                chunk = f.read()
        except OSError:
            return 0
        end = chunk.rfind(b"\n") + 1  # a line being written is counted next time
        self._log_at += end
        return chunk[:end].count(b'"clip.saved"')
