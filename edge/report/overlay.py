"""A picture of each camera's view with its hidden areas shown: the privacy masks drawn
(hatched red, named) over the camera's latest saved snapshot (already masked at capture),
or over a grey canvas of the camera's resolution when it has none or it cannot be read.
A private camera is never opened: its picture is a grey canvas saying so."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.core.logs import get_logger
from edge.report.shapes import ReportCamera

log = get_logger(__name__)

DEFAULT_SIZE = (640, 360)
"""Canvas of a camera with no resolution set (it has no masks either)."""
GREY = (128, 128, 128)
MASK = (40, 40, 220)  # red, BGR
TEXT = (255, 255, 255)


def latest_snapshot(clips_dir: Path, camera: str) -> Path | None:
    """The newest snapshot the node keeps of *camera* (its clip store's index), if any."""
    index = clips_dir / "index.sqlite"
    if not index.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            row = db.execute(
                "SELECT file FROM item WHERE kind = 'snapshot' AND camera = ? "
                "ORDER BY created DESC LIMIT 1",
                (camera,),
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as e:
        log.warning("report.snapshot_index_unreadable", path=str(index), error=str(e))
        return None
    return clips_dir / str(row[0]) if row else None


def _canvas(size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    w, h = size
    return np.full((h, w, 3), GREY, dtype=np.uint8)


def _base(snapshot: Path | None, size: tuple[int, int]) -> tuple[npt.NDArray[np.uint8], str]:
    """The picture to draw on and what it is (``snapshot`` or ``canvas``)."""
    if snapshot is not None:
        image = None
        with contextlib.suppress(OSError, cv2.error):
            image = cv2.imread(str(snapshot), cv2.IMREAD_COLOR)
        if image is not None and image.size:
            return np.ascontiguousarray(image, dtype=np.uint8), "snapshot"
        log.warning("report.snapshot_unreadable", path=str(snapshot), note="grey canvas")
    return _canvas(size), "canvas"


def _label(image: npt.NDArray[np.uint8], text: str, at: tuple[int, int]) -> None:
    """*text* in white on a dark box, its baseline at *at*."""
    x, y = at
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.rectangle(image, (x - 2, y - h - 3), (x + w + 2, y + base), (0, 0, 0), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, TEXT, 1, cv2.LINE_AA)


def _hatch(image: npt.NDArray[np.uint8], pts: npt.NDArray[np.int32]) -> None:
    """Fill the polygon half-transparent red with diagonal lines, and outline it."""
    h, w = int(image.shape[0]), int(image.shape[1])
    region = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(region, [pts], 255)
    tint = image.copy()
    tint[region > 0] = MASK
    lines = np.zeros_like(region)
    for d in range(-h, w, 12):
        cv2.line(lines, (d, 0), (d + h, h), 255, 2)
    tint[(region > 0) & (lines > 0)] = TEXT
    cv2.addWeighted(tint, 0.55, image, 0.45, 0, dst=image)
    cv2.polylines(image, [pts], isClosed=True, color=MASK, thickness=2)


def render(
    camera: ReportCamera, snapshot: Path | None, *, private: bool = False
) -> tuple[bytes, str]:
    """PNG bytes of the camera's view with its masks, and what it was drawn on
    (``snapshot``, ``canvas``). *camera* is the report's camera entry (``resolution``,
    ``masks`` with ``name`` and ``points``)."""
    resolution = camera.get("resolution")
    size = (int(resolution[0]), int(resolution[1])) if resolution else DEFAULT_SIZE
    image, base = _base(None if private else snapshot, size)
    h, w = image.shape[:2]
    sx, sy = w / size[0], h / size[1]
    unknown = []
    for mask in camera.get("masks") or []:
        points = mask.get("points")
        if not points:
            unknown.append(str(mask.get("name")))
            continue
        pts = np.array([[round(x * sx), round(y * sy)] for x, y in points], dtype=np.int32)
        _hatch(image, pts)
        x, y = int(pts[:, 0].min()), int(pts[:, 1].min())
        _label(image, str(mask.get("name")), (x + 4, y + 18))
    if private:
        _label(image, "PRIBADI: kamera tidak pernah dibuka / PRIVATE: never opened", (10, 24))
    elif base == "canvas":
        _label(image, "tanpa snapshot / no snapshot", (10, h - 12))
    for i, name in enumerate(unknown):
        _label(image, f"{name}: poligon tidak tercatat / polygon not recorded", (10, 48 + 20 * i))
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - PNG encoding of a uint8 BGR image does not fail
        raise ValueError("PNG encoding failed")
    return bytes(buf), base
