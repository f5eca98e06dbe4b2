"""``edge model bench``: ms per detector call and box precision/recall, model against model.

Every model runs with the same thread count on the same pictures (the images of a MOT
sequence), in turns (one pass of each model, then the next pass), so that a machine loaded by
something else slows them alike. CPU time is the process's (all of onnxruntime's threads), the
figure that says what a Pi pays; wall time is printed beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.analysis.detect.onnx import OnnxDetector
from edge.analysis.evaluate import evaluate, read_images
from edge.capture.frame import Image


@dataclass(frozen=True)
class DetectorFigures:
    """One model's figures."""

    model: str
    size: int
    input: str
    threads: int
    calls: int
    cpu_ms: float
    wall_ms: float
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int

    def as_dict(self) -> dict[str, float | int | str]:
        """The figures as JSON-ready values."""
        return {
            "model": self.model,
            "size": self.size,
            "input": self.input,
            "threads": self.threads,
            "calls": self.calls,
            "cpu_ms_per_call": round(self.cpu_ms, 2),
            "wall_ms_per_call": round(self.wall_ms, 2),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def _pictures(seq: Path, limit: int) -> list[Image]:
    paths = [p for _, p in sorted(read_images(seq).items())][:limit]
    images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in paths]
    return [np.asarray(i, dtype=np.uint8) for i in images if i is not None]


def compare(
    models: list[Path],
    seq: Path,
    *,
    threads: int = 1,
    score: float = 0.3,
    nms_iou: float = 0.55,
    min_height: float = 0.0,
    passes: int = 3,
    timing_images: int = 20,
    inputs: tuple[str, ...] = ("square",),
) -> list[DetectorFigures]:
    """Figures of each model on *seq* (score and NMS as a node's defaults, as `edge eval`):
    P/R over all its frames, ms per call over
    *passes* turns of *timing_images* of them (after one untimed call each); each model once
    per input shape in *inputs* (``square``, ``rect``: detector.rect_input)."""
    runs = [(m, i) for m in models for i in inputs]
    detectors = [
        OnnxDetector(m, threads=threads, score=score, nms_iou=nms_iou, rect=i == "rect")
        for m, i in runs
    ]
    pictures = _pictures(seq, timing_images)
    cpu = [0.0] * len(detectors)
    wall = [0.0] * len(detectors)
    for d in detectors:
        d.detect(pictures[0])
    for _ in range(passes):
        for i, d in enumerate(detectors):
            c0, w0 = time.process_time(), time.perf_counter()
            for picture in pictures:
                d.detect(picture)
            cpu[i] += time.process_time() - c0
            wall[i] += time.perf_counter() - w0
    calls = passes * len(pictures)
    figures = []
    for i, ((m, _), d) in enumerate(zip(runs, detectors, strict=True)):
        s = evaluate(d, seq, min_height=min_height)
        figures.append(
            DetectorFigures(
                str(m),
                d.size,
                "rect" if d.rect else "square",
                threads,
                calls,
                cpu[i] / calls * 1000,
                wall[i] / calls * 1000,
                s.precision,
                s.recall,
                s.tp,
                s.fp,
                s.fn,
            )
        )
    return figures
