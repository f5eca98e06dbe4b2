"""``edge eval``: precision and recall of a person detector on a MOT-format sequence."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.analysis.detect.base import Detection, Detector
from edge.core.errors import EdgeError


class SequenceError(EdgeError):
    """A sequence folder that is not in MOT format; the message names what is missing."""


@dataclass(frozen=True)
class Scores:
    """Matching result over a sequence."""

    frames: int
    gt: int
    detections: int
    tp: int
    fp: int
    fn: int
    ms_per_frame: float

    @property
    def precision(self) -> float:
        """TP / (TP + FP)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, float | int]:
        """Figures for --json."""
        return {
            "frames": self.frames,
            "gt": self.gt,
            "detections": self.detections,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "ms_per_frame": round(self.ms_per_frame, 2),
        }


def read_mot(seq: Path) -> dict[int, list[Detection]]:
    """Ground truth of *seq*: ``gt/gt.txt`` rows ``frame,id,x,y,w,h,...`` by frame number."""
    gt_file = seq / "gt" / "gt.txt"
    if not gt_file.is_file():
        raise SequenceError(f"{seq}: no gt/gt.txt (MOT format: img1/ and gt/gt.txt)")
    boxes: dict[int, list[Detection]] = defaultdict(list)
    for n, line in enumerate(gt_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            frame, x, y, w, h = int(parts[0]), *(float(v) for v in parts[2:6])
        except (ValueError, IndexError) as e:
            raise SequenceError(f"{gt_file}:{n}: not a MOT row: {line!r}") from e
        if len(parts) > 6 and parts[6].strip() == "0":
            continue  # MOT: confidence 0 marks an ignored box
        boxes[frame].append(Detection(x, y, w, h, 1.0))
    return boxes


def match(gts: list[Detection], dets: list[Detection], iou: float) -> tuple[int, int, int]:
    """Greedy matching by descending IoU: (true positives, false positives, misses)."""
    pairs = sorted(
        ((d.iou(g), i, j) for i, d in enumerate(dets) for j, g in enumerate(gts)), reverse=True
    )
    used_d: set[int] = set()
    used_g: set[int] = set()
    for value, i, j in pairs:
        if value < iou:
            break
        if i in used_d or j in used_g:
            continue
        used_d.add(i)
        used_g.add(j)
    tp = len(used_d)
    return tp, len(dets) - tp, len(gts) - tp


def evaluate(detector: Detector, seq: Path, *, min_height: float = 0.0, iou: float = 0.5) -> Scores:
    """Run *detector* on every image of *seq* and score it against the ground truth.

    Ground-truth boxes and detections shorter than *min_height* pixels are left out of the
    count (people too small for the site to care about, or not annotated)."""
    images = sorted((seq / "img1").glob("*.jpg")) + sorted((seq / "img1").glob("*.png"))
    if not images:
        raise SequenceError(f"{seq}: no images in img1/")
    gt = read_mot(seq)
    tp = fp = fn = n_gt = n_det = 0
    spent = 0.0
    for path in images:
        read = cv2.imread(str(path))
        if read is None:
            raise SequenceError(f"{path}: not a readable image")
        image = np.asarray(read, dtype=np.uint8)
        frame = int(path.stem)
        t0 = time.perf_counter()
        dets = [d for d in detector.detect(image) if d.h >= min_height]
        spent += time.perf_counter() - t0
        gts = [g for g in gt.get(frame, []) if g.h >= min_height]
        a, b, c = match(gts, dets, iou)
        tp, fp, fn = tp + a, fp + b, fn + c
        n_gt += len(gts)
        n_det += len(dets)
    return Scores(len(images), n_gt, n_det, tp, fp, fn, 1000 * spent / len(images))
