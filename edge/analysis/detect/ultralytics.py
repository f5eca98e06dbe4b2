"""Person detection with Ultralytics YOLO: whatever format the site deployed.

``YOLO(model)`` loads ``.pt``, ``.onnx``, an NCNN folder (Raspberry Pi) or a TensorRT
``.engine`` (Jetson). Offline by design: set ``YOLO_OFFLINE=1`` and ``YOLO_AUTOINSTALL=false``
so it never reaches for the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.detect.base import Detection
from edge.analysis.detect.onnx import ModelError
from edge.capture.frame import Image

PERSON = 0


class UltralyticsDetector:
    """A person detector on the ultralytics ``YOLO`` class."""

    def __init__(
        self,
        model: str | Path,
        *,
        score: float = 0.3,
        nms_iou: float = 0.55,
        imgsz: int = 640,
        device: str = "cpu",
        loaded: Any = None,
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        self.name = f"ultralytics:{Path(str(model)).name}"
        self.score = score
        self.nms_iou = nms_iou
        self.imgsz = imgsz
        self.device = device
        if loaded is not None:
            self.model = loaded
            return
        path = Path(model)
        if not path.exists() and not str(model).endswith(".yaml"):
            raise ModelError(f"model not found: {path}")
        try:
            from ultralytics import YOLO  # type: ignore[attr-defined]
        except ImportError as e:
            raise ModelError(
                "ultralytics is not installed: pip install 'warehouse-edge[yolo]'"
            ) from e
        try:
            self.model = YOLO(str(model), task="detect")
        except Exception as e:  # ultralytics raises many kinds
            raise ModelError(f"cannot load model {model}: {e}") from e

    def detect(self, image: Image) -> list[Detection]:
        """People in *image*."""
        results = self.model.predict(
            image,
            imgsz=self.imgsz,
            conf=self.score,
            iou=self.nms_iou,
            classes=[PERSON],
            device=self.device,
            verbose=False,
        )
        out: list[Detection] = []
        for r in results:
            boxes = r.boxes
            if boxes is None or len(boxes) == 0:
                continue
            xyxy = np.asarray(boxes.xyxy.cpu().numpy(), np.float64)
            conf = np.asarray(boxes.conf.cpu().numpy(), np.float64)
            for (x1, y1, x2, y2), sc in zip(xyxy, conf, strict=True):
                if x2 > x1 and y2 > y1:
                    out.append(
                        Detection(float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(sc))
                    )
        return out
