"""The ultralytics backend for real: an untrained YOLOv8n built offline from its yaml, its
ONNX export, and our own ONNX decoding checked box for box against ultralytics' own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import SHARED

from edge.analysis.detect.factory import build_detector
from edge.analysis.detect.onnx import OnnxDetector
from edge.analysis.detect.ultralytics import UltralyticsDetector
from edge.config.detection import DetectorConfig

pytestmark = pytest.mark.slow
IMAGE = SHARED / "data" / "gt" / "TUD-Campus" / "img1" / "000001.jpg"


@pytest.fixture(scope="module")
def yolo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """YOLO('yolov8n.yaml'), untrained, with the person logit raised so boxes come out; and
    its ONNX export. Nothing is downloaded."""
    work = tmp_path_factory.mktemp("yolo")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(work / "cfg")
    import torch
    from ultralytics import YOLO  # type: ignore[attr-defined]

    torch.manual_seed(0)
    old = Path.cwd()
    os.chdir(work)
    try:
        model: Any = YOLO("yolov8n.yaml")
        for branch in model.model.model[-1].cv3:  # class logits of the Detect head
            branch[-1].bias.data[0] = 3.0  # person
        onnx = Path(model.export(format="onnx", imgsz=320, opset=12, simplify=False))
    finally:
        os.chdir(old)
    return model, work / onnx.name if not onnx.is_absolute() else onnx


def _image() -> np.ndarray:
    return np.asarray(cv2.imread(str(IMAGE)), np.uint8)


def test_torch_model_detects_through_the_backend(yolo: tuple[Any, Path]) -> None:
    """The YOLO object behind UltralyticsDetector returns person boxes inside the image."""
    model, _ = yolo
    dets = UltralyticsDetector("yolov8n.yaml", loaded=model, score=0.5, imgsz=320).detect(_image())
    assert dets
    h, w = _image().shape[:2]
    assert all(
        d.x >= 0 and d.y >= 0 and d.x + d.w <= w + 1 and d.y + d.h <= h + 1 and 0.5 <= d.score <= 1
        for d in dets
    )


def test_onnx_export_decoded_by_us_matches_ultralytics(yolo: tuple[Any, Path]) -> None:
    """The exported ONNX run by ultralytics and by our onnxruntime backend (YOLOv8 head,
    centred letterbox, RGB/255) give the same boxes."""
    _, onnx = yolo
    theirs = build_detector(
        DetectorConfig(backend="ultralytics", model=str(onnx), score=0.5, nms_iou=0.55, imgsz=320)
    )
    ours = build_detector(DetectorConfig(backend="onnx", model=str(onnx), score=0.5, nms_iou=0.55))
    assert isinstance(ours, OnnxDetector) and ours.family == "yolov8" and ours.size == 320
    assert theirs is not None
    a = sorted(theirs.detect(_image()), key=lambda d: (-d.score, d.x, d.y))
    b = sorted(ours.detect(_image()), key=lambda d: (-d.score, d.x, d.y))
    assert len(a) > 10 and abs(len(a) - len(b)) <= max(2, len(a) // 20)
    for d in a[:20]:
        best = max(b, key=d.iou)
        assert d.iou(best) > 0.95 and abs(d.score - best.score) < 0.01


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    """A model path that does not exist is named."""
    from edge.analysis.detect.onnx import ModelError

    with pytest.raises(ModelError, match="model not found"):
        UltralyticsDetector(tmp_path / "absent.pt")
    with pytest.raises(ModelError, match="model not found"):
        OnnxDetector(tmp_path / "absent.onnx")
