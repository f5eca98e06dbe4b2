"""Build the node's detector from config."""

from __future__ import annotations

from edge.analysis.detect.base import Detector
from edge.config.detection import DetectorConfig
from edge.config.preflight import model_hash_problem
from edge.core.errors import DetectorError


def build_detector(cfg: DetectorConfig) -> Detector | None:
    """The configured detector, or None for motion-only nodes. Raises DetectorError, also
    when ``detector.model_sha256`` is set and the model file's hash differs."""
    if cfg.backend == "none" or cfg.model is None:
        return None
    wrong = model_hash_problem(cfg)
    if wrong:
        raise DetectorError(wrong)
    if cfg.backend == "onnx":
        from edge.analysis.detect.onnx import OnnxDetector

        onnx = OnnxDetector(
            cfg.model,
            head=cfg.head,
            score=cfg.score,
            nms_iou=cfg.nms_iou,
            threads=cfg.threads,
            rect=cfg.rect_input,
        )
        if not cfg.tiles:
            return onnx
        from edge.analysis.detect.tiles import TiledDetector

        return TiledDetector(onnx, onnx.size, iou=cfg.nms_iou, min_score=cfg.score)
    from edge.analysis.detect.ultralytics import UltralyticsDetector

    return UltralyticsDetector(cfg.model, score=cfg.score, nms_iou=cfg.nms_iou, imgsz=cfg.imgsz)
