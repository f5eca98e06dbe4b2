"""``edge bench capacity --markdown [--before FILE]``: the figures as README's table, each
cell ``before -> after`` when an earlier ``--json`` result is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.bench.capacity_parts import BenchError

HEADER = (
    "| cameras | node CPU (of the machine) | RSS MB (window) | RSS MB/min | threads "
    "| analysed fps per camera | dropped | detector runs/s per camera | analysed behind |"
    "\n|---|---|---|---|---|---|---|---|---|"
)


def load_result(path: Path) -> dict[str, Any]:
    """An earlier ``edge bench capacity --json`` result (BenchError when it is not one)."""
    try:
        result: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BenchError(f"--before: {path}: not a readable JSON result ({e})") from e
    if not isinstance(result, dict) or not isinstance(result.get("runs"), list):
        raise BenchError(f"--before: {path}: no 'runs' (write it with edge bench capacity --json)")
    return result


def _cells(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['cpu_pct_machine']:.0f}%",
        f"{r['rss_mb_min']:.0f}-{r['rss_mb_max']:.0f}",
        f"{r['rss_mb_per_min']:.1f}",
        str(r["threads"]),
        f"{r['fps_per_camera']:.2f}",
        f"{r['dropped_pct']:.1f}%",
        f"{r['detector_runs_per_camera_s']:.2f}" if "detector_runs_per_camera_s" in r else "-",
        f"{r['behind_pct']:.0f}%" if "behind_pct" in r else "-",
    ]


def markdown(result: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """README's table of *result*, one row per camera count; with *before* (same counts)
    each cell ``before -> after``."""
    earlier = {r["cameras"]: r for r in (before or {}).get("runs", [])}
    rows = [HEADER]
    for r in result["runs"]:
        now = _cells(r)
        if r["cameras"] in earlier:
            now = [f"{b} -> {a}" for b, a in zip(_cells(earlier[r["cameras"]]), now, strict=True)]
        rows.append(f"| {r['cameras']} | " + " | ".join(now) + " |")
    return "\n".join(rows)
