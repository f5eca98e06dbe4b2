"""JPEG snapshots of an event: the (already masked) frame with boxes and zones drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.capture.frame import Image
from edge.clips.store import ClipStore, QuotaError
from edge.core.ids import new_id
from edge.core.logs import get_logger

log = get_logger(__name__)

BOX = (0, 200, 255)  # amber, BGR
ZONE = (255, 160, 0)


def render(
    image: Image,
    detections: Sequence[Detection],
    zones: Sequence[tuple[str, npt.NDArray[np.float32]]] = (),
    quality: int = 85,
) -> bytes:
    """JPEG bytes of *image* with *zones* outlined and *detections* boxed with scores."""
    out = image.copy()
    for name, poly in zones:
        pts = poly.astype(np.int32)
        cv2.polylines(out, [pts], isClosed=True, color=ZONE, thickness=2)
        x, y = pts.min(axis=0)
        cv2.putText(
            out,
            name,
            (int(x) + 4, int(y) + 16),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            ZONE,
            1,
            cv2.LINE_AA,
        )
    for d in detections:
        p1, p2 = (round(d.x), round(d.y)), (round(d.x + d.w), round(d.y + d.h))
        cv2.rectangle(out, p1, p2, BOX, 2)
        cv2.putText(
            out,
            f"person {d.score:.2f}",
            (p1[0], max(12, p1[1] - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            BOX,
            1,
            cv2.LINE_AA,
        )
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


class SnapshotSaver:
    """Writes event snapshots under the clip store's retention."""

    def __init__(
        self,
        store: ClipStore,
        quality: int = 85,
        on_saved: Callable[[str, str, Path], None] | None = None,
    ) -> None:
        self.store = store
        self.quality = quality
        self.on_saved = on_saved
        """Called with (snapshot id, camera, path) once a snapshot is kept."""

    def save(
        self,
        camera: str,
        image: Image,
        detections: Sequence[Detection],
        zones: Sequence[tuple[str, npt.NDArray[np.float32]]] = (),
    ) -> str | None:
        """The new snapshot's id, or None when it could not be kept (logged)."""
        try:
            jpeg = render(image, detections, zones, self.quality)
            self.store.reserve(len(jpeg))
            snap_id = new_id()
            path = self.store.path_for(f"{snap_id}.jpg")
            path.write_bytes(jpeg)
            self.store.add(snap_id, "snapshot", camera, path)
        except (QuotaError, OSError, ValueError) as e:
            log.error("snapshot.failed", camera=camera, error=str(e))
            return None
        if self.on_saved is not None:
            self.on_saved(snap_id, camera, path)
        return snap_id
