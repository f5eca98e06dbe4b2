"""Running the detector on overlapping tiles at its native input size, and merging the boxes.

A frame larger than the model's square input is shrunk to fit it, so every person loses
detail. With tiles the detector also looks at ``size x size`` windows of the frame at full
resolution (they overlap, and together they cover the frame), besides the whole frame (for
people taller than a tile). Merging:

* a box that touches a tile border inside the frame is a person cut by the tile: dropped (the
  whole frame, or the neighbouring tile, sees the whole person);
* the remaining boxes of all views are clustered greedily by descending score (a box joins
  the cluster whose merged box overlaps it at IoU >= ``iou``, one box per view and cluster);
  the merged box is the score-weighted mean of its members;
* the merged score is the *mean* over the views that could have seen the whole box (whose
  window contains it), a view that found nothing there counting 0: a box that only one view
  of several sees scores lower, and is dropped when below the detector's lowest score.
"""

from __future__ import annotations

import math

from edge.analysis.detect.base import Detection, Detector
from edge.capture.frame import Image

Window = tuple[int, int, int, int]
"""x, y, width, height of a view, in frame pixels."""

CUT_MARGIN = 2.0
"""A box this close to a tile's inner border (pixels) counts as cut by it."""


def _starts(length: int, size: int, min_overlap: float) -> list[int]:
    """Start offsets of windows of *size* covering *length*, overlapping at least
    *min_overlap* of *size*, evenly spread."""
    if length <= size:
        return [0]
    step = size * (1 - min_overlap)
    n = math.ceil((length - size) / step) + 1
    return [round(i * (length - size) / (n - 1)) for i in range(n)]


def windows(width: int, height: int, size: int, min_overlap: float = 0.25) -> list[Window]:
    """The views of a *width* x *height* frame: the whole frame first, then ``size x size``
    tiles (narrower along a side that fits) when the frame is larger than *size*."""
    full = (0, 0, width, height)
    if width <= size and height <= size:
        return [full]
    xs = _starts(width, size, min_overlap)
    ys = _starts(height, size, min_overlap)
    tw, th = min(size, width), min(size, height)
    return [full] + [(x, y, tw, th) for y in ys for x in xs]


def is_cut(d: Detection, win: Window, width: int, height: int) -> bool:
    """True when *d* (frame pixels) touches a border of *win* that lies inside the frame."""
    x, y, w, h = win
    m = CUT_MARGIN
    return (
        (x > 0 and d.x <= x + m)
        or (y > 0 and d.y <= y + m)
        or (x + w < width and d.x + d.w >= x + w - m)
        or (y + h < height and d.y + d.h >= y + h - m)
    )


def contains(win: Window, d: Detection) -> bool:
    """True when *d* lies inside *win* (give or take the cut margin)."""
    x, y, w, h = win
    m = CUT_MARGIN
    return d.x >= x - m and d.y >= y - m and d.x + d.w <= x + w + m and d.y + d.h <= y + h + m


class _Cluster:
    """Boxes of different views taken for one person."""

    def __init__(self, d: Detection, view: int) -> None:
        self.members = [d]
        self.views = {view}
        self.box = d

    def add(self, d: Detection, view: int) -> None:
        self.members.append(d)
        self.views.add(view)
        total = sum(m.score for m in self.members)
        x1, y1, x2, y2 = (
            sum(corners(m)[k] * m.score for m in self.members) / total for k in range(4)
        )
        self.box = Detection(x1, y1, x2 - x1, y2 - y1, self.box.score)


def corners(d: Detection) -> tuple[float, float, float, float]:
    """Corners ``(x1, y1, x2, y2)`` of *d*."""
    return (d.x, d.y, d.x + d.w, d.y + d.h)


def merge(
    views: list[tuple[Window, list[Detection]]],
    width: int,
    height: int,
    *,
    iou: float,
    min_score: float,
) -> list[Detection]:
    """One list of boxes from the boxes of each view (frame pixels), by the rules of the
    module: cut boxes dropped, clusters across views, score averaged over the views that
    contain the merged box, clusters below *min_score* dropped."""
    pool = [
        (d, i)
        for i, (win, dets) in enumerate(views)
        for d in dets
        if not is_cut(d, win, width, height)
    ]
    pool.sort(key=lambda p: -p[0].score)
    clusters: list[_Cluster] = []
    for d, view in pool:
        best, best_iou = None, 0.0
        for c in clusters:
            v = c.box.iou(d)
            if v > best_iou:
                best, best_iou = c, v
        if best is not None and best_iou >= iou and view not in best.views:
            best.add(d, view)
        else:
            clusters.append(_Cluster(d, view))
    out = []
    for c in clusters:
        seen_by = sum(1 for win, _ in views if contains(win, c.box)) or 1
        score = sum(m.score for m in c.members) / max(seen_by, len(c.members))
        if score >= min_score:
            out.append(Detection(c.box.x, c.box.y, c.box.w, c.box.h, score))
    return out


class TiledDetector:
    """*inner* on the whole frame and on tiles of its input size, boxes merged (module
    docstring). On a frame that fits the input it is *inner*, at no extra cost."""

    def __init__(self, inner: Detector, size: int, *, iou: float, min_score: float) -> None:
        self.inner = inner
        self.size = size
        self.iou = iou
        self.min_score = min_score
        self.name = f"{inner.name}+tiles"

    def detect(self, image: Image) -> list[Detection]:
        """People in *image*."""
        h, w = image.shape[:2]
        wins = windows(w, h, self.size)
        if len(wins) == 1:
            return self.inner.detect(image)
        views = []
        for win in wins:
            x, y, tw, th = win
            found = self.inner.detect(image[y : y + th, x : x + tw])
            views.append((win, [d.shifted(x, y) for d in found]))
        return merge(views, w, h, iou=self.iou, min_score=self.min_score)
