"""A stored heartbeat as the fleet board shows it, whatever the row holds: rows written
before the receiver checked heartbeats' types (``edge.receiver.validate``) may carry a
temperature that is text, a queue that is a list, reasons that are one string. Each field
is taken when it has its schema's type and left empty otherwise, so one node's odd
heartbeat never breaks the board for everyone."""

from __future__ import annotations

import json
import math


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    return None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def health_view(raw: object) -> dict[str, object]:
    """``queued``, ``cameras``, ``disk_free_bytes``, ``cpu_temp_c``, ``clock_synced`` and
    ``reasons`` of the stored heartbeat text *raw* (None, or not JSON: all empty)."""
    try:
        h = json.loads(raw) if isinstance(raw, str | bytes) and raw else {}
    except ValueError:
        h = {}
    if not isinstance(h, dict):
        h = {}
    queue = h.get("queue")
    queued = 0
    if isinstance(queue, dict):
        for classes in queue.values():
            if isinstance(classes, dict):
                queued += sum(v for v in classes.values() if _integer(v) is not None)
    cameras = h.get("cameras")
    reasons = h.get("reasons")
    synced = h.get("clock_synced")
    return {
        "queued": queued,
        "cameras": ({str(k): v for k, v in cameras.items() if isinstance(v, dict)}
                    if isinstance(cameras, dict) else {}),
        "disk_free_bytes": _integer(h.get("disk_free_bytes")),
        "cpu_temp_c": _number(h.get("cpu_temp_c")),
        "clock_synced": synced if isinstance(synced, bool) else None,
        "reasons": [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else [],
    }  # fmt: skip
