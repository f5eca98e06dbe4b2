"""Person detection: interface, ONNX and Ultralytics backends, filters, scheduling."""

from edge.detect.base import Detection, Detector
from edge.detect.factory import build_detector
from edge.detect.filters import BoxFilter
from edge.detect.onnx import ModelError, OnnxDetector
from edge.detect.schedule import DetectionSchedule

__all__ = [
    "BoxFilter",
    "Detection",
    "DetectionSchedule",
    "Detector",
    "ModelError",
    "OnnxDetector",
    "build_detector",
]
