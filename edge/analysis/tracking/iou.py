"""The ``iou`` matcher: greedy matching of boxes to tracks by overlap (IoU), falling back to
the nearest centre within a box's size for people moving fast between detector runs."""

from __future__ import annotations

from edge.analysis.detect.base import Detection


def centre_near(a: Detection, b: Detection) -> float:
    """Centre distance in units of the larger box side (below 1: close enough)."""
    ax, ay = a.x + a.w / 2, a.y + a.h / 2
    bx, by = b.x + b.w / 2, b.y + b.h / 2
    scale = max(a.w, a.h, b.w, b.h, 1.0)
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / scale)


class IouMatcher:
    """Greedy IoU (at least *min_iou*), then nearest centre; no state of its own."""

    def __init__(self, *, min_iou: float = 0.2) -> None:
        self.min_iou = min_iou

    def assign(
        self, dets: list[Detection], live: dict[str, Detection], t: float
    ) -> dict[int, str | None]:
        """Best overlaps first, then the nearest centres; every other detection may start."""
        ids = list(live)
        boxes = list(live.values())
        pairs = sorted(
            ((d.iou(b), i, j) for i, d in enumerate(dets) for j, b in enumerate(boxes)),
            reverse=True,
        )
        used_d: set[int] = set()
        used_t: set[int] = set()
        out: dict[int, str | None] = {}
        for iou, i, j in pairs:
            if iou < self.min_iou:
                break
            if i not in used_d and j not in used_t:
                used_d.add(i)
                used_t.add(j)
                out[i] = ids[j]
        near = sorted(
            (centre_near(d, b), i, j)
            for i, d in enumerate(dets)
            if i not in used_d
            for j, b in enumerate(boxes)
            if j not in used_t
        )
        for dist, i, j in near:
            if dist >= 1.0:
                break
            if i not in used_d and j not in used_t:
                used_d.add(i)
                used_t.add(j)
                out[i] = ids[j]
        return out | {i: None for i in range(len(dets)) if i not in out}

    def idle(self, t: float) -> None:
        """Nothing to move on."""

    def bind(self, i: int, track_id: str) -> None:
        """Nothing to remember."""

    def forget(self, track_id: str) -> None:
        """Nothing to remember."""

    def reset(self) -> None:
        """Nothing to remember."""
