"""``edge bench capacity --json``'s timeline (edge/bench/capacity_timeline.py): per second,
RSS, CPU, analysis frames dropped and clips saved since the window began, read from the
daemon's real state file and log lines as the daemon writes them."""

from __future__ import annotations

import json
from pathlib import Path

from edge.bench.capacity_parts import ProcSample
from edge.bench.capacity_timeline import Timeline


def _state(path: Path, dropped: list[int]) -> None:
    cams = {f"cam{i}": {"frames": 100, "dropped": d} for i, d in enumerate(dropped)}
    path.write_text(json.dumps({"health": {"cameras": cams}}))


def _saved(log: Path, n: int, partial: str = "") -> None:
    with log.open("a") as f:
        for _ in range(n):
            f.write(json.dumps({"event": "clip.saved", "camera": "cam0"}) + "\n")
        f.write(partial)


def test_the_timeline_counts_drops_and_clips_from_the_window_start(tmp_path: Path) -> None:
    """Drops and clips before the window do not count; a log line still being written is
    counted once it is whole; a missing state file keeps the last drop count; CPU is the
    share of all cores since the previous point."""
    state, log = tmp_path / "status.json", tmp_path / "node.log"
    _state(state, [5, 7])
    _saved(log, 3)
    t = Timeline(state, log, cores=2)
    t.start()
    t.add(ProcSample(at=10.0, cpu_s=1.0, rss_mb=400.0, threads=40))
    _state(state, [6, 9])
    _saved(log, 2, partial='{"event": "clip.sa')
    t.add(ProcSample(at=11.0, cpu_s=2.0, rss_mb=410.0, threads=40))
    state.unlink()
    _saved(log, 0, partial='ved"}\n')
    t.add(ProcSample(at=12.0, cpu_s=2.5, rss_mb=405.0, threads=40))
    assert t.points == [
        {"t": 0.0, "rss_mb": 400.0, "cpu_pct": 0.0, "dropped": 0, "clips": 0},
        {"t": 1.0, "rss_mb": 410.0, "cpu_pct": 50.0, "dropped": 3, "clips": 2},
        {"t": 2.0, "rss_mb": 405.0, "cpu_pct": 25.0, "dropped": 3, "clips": 3},
    ]
