"""A node's overload as the fleet board shows it: each camera's recent drop share and
analysed fps against its configured fps (from the heartbeat's camera entries), and the
``overloaded: ...`` reasons (:mod:`edge.wire.overload`) read back into figures, so the board
says them in the officer's language; any other reason is shown as the node sent it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from edge.wire.overload import parse


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def camera_load(c: Mapping[str, object]) -> dict[str, object]:
    """``share`` (percent dropped over the node's recent window, None when not sent),
    ``fps``, ``fps_configured`` and ``window_s`` of a heartbeat camera entry *c*;
    ``slow``: it dropped frames or analysed fewer frames than configured (by a tenth)."""
    share = _number(c.get("dropped_share"))
    fps, want = _number(c.get("fps")), _number(c.get("fps_configured"))
    slow = bool(share) or (fps is not None and want is not None and fps < 0.9 * want)
    return {
        "share": None if share is None else round(share * 100, 1),
        "fps": None if fps is None else round(fps, 1),
        "fps_configured": want,
        "window_s": _number(c.get("window_s")),
        "slow": slow,
    }


def reason_rows(reasons: Iterable[object]) -> list[dict[str, Any]]:
    """Each reason as ``text`` (as sent) with ``kind`` (``drops``, ``lag`` or None for a
    reason that is no overload), ``value`` (percent or seconds) and ``cameras``."""
    rows = []
    for r in reasons:
        text = str(r)
        o = parse(text)
        rows.append({
            "text": text, "kind": None if o is None else o.kind,
            "value": None if o is None else o.value, "cameras": None if o is None else o.cameras,
        })  # fmt: skip
    return rows
