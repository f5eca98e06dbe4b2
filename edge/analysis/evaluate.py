"""``edge eval``: precision and recall of a person detector on a MOT-format sequence.

A sequence is a folder with ``img1/`` (one image per frame, ``.jpg``, ``.jpeg`` or ``.png``)
and ``gt/gt.txt`` (rows ``frame,id,x,y,w,h[,conf,...]``, pixels, top-left and size). The frame
number of an image is the last run of digits in its file name: ``000001.jpg``,
``frame_0001.jpg`` and ``img00001.png`` are all frame 1. A folder without ``gt/gt.txt`` is not
a sequence (:class:`SequenceError`); a sequence that cannot be scored as it stands -- no
images, a name without digits, two images with one frame number, an unreadable image, a
``gt.txt`` row that does not parse or names a frame without an image -- raises
:class:`MalformedSequenceError`, one line naming the file (and the line of ``gt.txt``).

Scoring with a minimum height (the "don't care" rule of the pedestrian benchmarks, Caltech and
CityPersons), so that a box a few pixels either side of the limit never counts against the
detector:

* truth boxes at least ``min_height`` tall are *counted*: a hit (TP) or a miss (FN);
* shorter truth boxes, and MOT rows with confidence 0, are *ignore regions*: never a miss;
* detections are matched at IoU >= ``iou``, greedily by descending IoU, first one-to-one to
  counted truth, then what is left to ignore regions (one region may take several detections);
* a detection matched to counted truth is a TP whatever its own height; one matched to an
  ignore region is neither TP nor FP (it is *ignored*);
* an unmatched detection is a false positive when at least ``min_height`` tall, otherwise it is
  ignored too. A second detection of a counted person is a false positive (a double detection),
  as in the benchmarks.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.analysis.detect.base import Detection, Detector
from edge.core.errors import EdgeError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_DIGITS = re.compile(r"\d+")


class SequenceError(EdgeError):
    """A folder that is not a MOT sequence (no ``gt/gt.txt``); the message names what is
    missing."""


class MalformedSequenceError(SequenceError):
    """A MOT sequence that cannot be scored as it stands; one line naming the file or folder
    (and the line of ``gt.txt``) and the problem."""


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
    gt_ignored: int = 0
    """Truth boxes that were ignore regions (shorter than the minimum height, or confidence 0)."""
    ignored: int = 0
    """Detections neither TP nor FP (on an ignore region, or short and matching nothing)."""

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
            "gt_ignored": self.gt_ignored,
            "detections": self.detections,
            "ignored": self.ignored,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "ms_per_frame": round(self.ms_per_frame, 2),
        }


@dataclass(frozen=True)
class FrameMatch:
    """Matching result of one frame."""

    tp: int
    fp: int
    fn: int
    ignored: int
    """Detections that count neither way."""
    gt_ignored: int
    """Truth boxes that were ignore regions."""

    @property
    def gt(self) -> int:
        """Counted truth boxes."""
        return self.tp + self.fn

    @property
    def detections(self) -> int:
        """Detections that count (TP or FP)."""
        return self.tp + self.fp


@dataclass
class GroundTruth:
    """The boxes of ``gt/gt.txt`` by frame number."""

    boxes: dict[int, list[Detection]] = field(default_factory=lambda: defaultdict(list))
    """Truth boxes (counted if tall enough)."""
    ignored: dict[int, list[Detection]] = field(default_factory=lambda: defaultdict(list))
    """Rows with confidence 0: ignore regions whatever their height."""
    lines: dict[int, int] = field(default_factory=dict)
    """The first ``gt.txt`` line naming each frame."""
    ids: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    """The identity (the ``id`` column) of each box of :attr:`boxes`, in the same order."""

    @property
    def has_ids(self) -> bool:
        """True when the truth names people (not every ``id`` is -1): track measures apply."""
        return any(i != -1 for ids in self.ids.values() for i in ids)


def frame_number(path: Path) -> int:
    """Frame number of an image: the last run of digits in its name (``frame_0001.jpg`` -> 1)."""
    runs = _DIGITS.findall(path.stem)
    if not runs:
        raise MalformedSequenceError(f"{path}: no frame number (no digits) in the file name")
    return int(runs[-1])


def read_images(seq: Path) -> dict[int, Path]:
    """The images of ``seq/img1`` by frame number, in frame order."""
    folder = seq / "img1"
    if not folder.is_dir():
        raise MalformedSequenceError(f"{folder}: no such folder (MOT format: img1/, gt/gt.txt)")
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        n = frame_number(path)
        if n in found:
            raise MalformedSequenceError(
                f"{path}: frame number {n} already taken by {found[n].name}"
            )
        found[n] = path
    if not found:
        raise MalformedSequenceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return dict(sorted(found.items()))


def _parse_row(line: str) -> tuple[int, int, Detection, bool]:
    parts = line.split(",")
    if len(parts) < 6:
        raise ValueError("fewer than 6 fields")
    frame, ident = int(parts[0]), int(float(parts[1]))
    x, y, w, h = (float(v) for v in parts[2:6])
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise ValueError("box not finite or not positive in size")
    ignore = len(parts) > 6 and parts[6].strip() in ("0", "0.0")  # MOT: 0 marks an ignored box
    return frame, ident, Detection(x, y, w, h, 1.0), ignore


def read_mot(seq: Path) -> GroundTruth:
    """Ground truth of *seq*: ``gt/gt.txt`` rows ``frame,id,x,y,w,h,...`` by frame number."""
    gt_file = seq / "gt" / "gt.txt"
    if not gt_file.is_file():
        raise SequenceError(f"{seq}: not a MOT sequence: no gt/gt.txt (img1/ and gt/gt.txt)")
    try:
        text = gt_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MalformedSequenceError(f"{gt_file}: cannot be read as text: {e}") from e
    gt = GroundTruth()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            frame, ident, box, ignore = _parse_row(line)
        except ValueError as e:
            raise MalformedSequenceError(
                f"{gt_file}, line {n}: not a MOT row frame,id,x,y,w,h,... ({e}): {line[:80]!r}"
            ) from e
        if ignore:
            gt.ignored[frame].append(box)
        else:
            gt.boxes[frame].append(box)
            gt.ids[frame].append(ident)
        gt.lines.setdefault(frame, n)
    return gt


def greedy(
    dets: Sequence[Detection], truth: Sequence[Detection], iou: float, skip: set[int]
) -> dict[int, int]:
    """One-to-one greedy matching by descending IoU: detection index -> truth index."""
    pairs = sorted(
        (
            (d.iou(g), i, j)
            for i, d in enumerate(dets)
            if i not in skip
            for j, g in enumerate(truth)
        ),
        reverse=True,
    )
    out: dict[int, int] = {}
    used_g: set[int] = set()
    for value, i, j in pairs:
        if value < iou:
            break
        if i in out or j in used_g:
            continue
        out[i] = j
        used_g.add(j)
    return out


def match(
    gts: Sequence[Detection],
    dets: Sequence[Detection],
    iou: float = 0.5,
    *,
    min_height: float = 0.0,
    ignore: Sequence[Detection] = (),
) -> FrameMatch:
    """Score one frame's detections against its truth boxes by the rule of the module: truth
    shorter than *min_height* and the *ignore* boxes are ignore regions, a detection matching
    any truth box is never a false positive, a short detection matching nothing is ignored."""
    counted = [g for g in gts if g.h >= min_height]
    regions = [g for g in gts if g.h < min_height] + list(ignore)
    hits = greedy(dets, counted, iou, set())
    on_region = {
        i for i, d in enumerate(dets) if i not in hits and any(d.iou(g) >= iou for g in regions)
    }
    unmatched = [d for i, d in enumerate(dets) if i not in hits and i not in on_region]
    fp = sum(1 for d in unmatched if d.h >= min_height)
    return FrameMatch(
        tp=len(hits),
        fp=fp,
        fn=len(counted) - len(hits),
        ignored=len(on_region) + len(unmatched) - fp,
        gt_ignored=len(regions),
    )


@dataclass(frozen=True)
class DetectorRun:
    """The detector's boxes on every image of a sequence, and its ground truth."""

    gt: GroundTruth
    detections: dict[int, list[Detection]]
    """Frame number -> the detector's boxes, in frame order."""
    ms_per_frame: float
    shape: tuple[int, int]
    """Height and width of the images (of the first one)."""


def run_detector(detector: Detector, seq: Path) -> DetectorRun:
    """Run *detector* on every image of *seq* (one-line errors for a malformed sequence)."""
    gt = read_mot(seq)
    images = read_images(seq)
    for frame in sorted(set(gt.boxes) | set(gt.ignored)):
        if frame not in images:
            raise MalformedSequenceError(
                f"{seq / 'gt' / 'gt.txt'}, line {gt.lines[frame]}: frame {frame} has no image "
                f"in {seq / 'img1'} (images are frames {min(images)}-{max(images)})"
            )
    found: dict[int, list[Detection]] = {}
    shape = (0, 0)
    spent = 0.0
    for frame, path in images.items():
        read = cv2.imread(str(path))
        if read is None:
            raise MalformedSequenceError(f"{path}: not a readable image")
        image = np.asarray(read, dtype=np.uint8)
        shape = shape if found else (image.shape[0], image.shape[1])
        t0 = time.perf_counter()
        found[frame] = detector.detect(image)
        spent += time.perf_counter() - t0
    return DetectorRun(gt, found, 1000 * spent / len(images), shape)


def score_boxes(run: DetectorRun, *, min_height: float = 0.0, iou: float = 0.5) -> Scores:
    """Score the boxes of *run* against its ground truth by the rule of the module."""
    tp = fp = fn = n_gt = n_det = gt_ignored = ignored = 0
    for frame, dets in run.detections.items():
        m = match(
            run.gt.boxes.get(frame, []),
            dets,
            iou,
            min_height=min_height,
            ignore=run.gt.ignored.get(frame, []),
        )
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        n_gt, n_det = n_gt + m.gt, n_det + m.detections
        gt_ignored, ignored = gt_ignored + m.gt_ignored, ignored + m.ignored
    return Scores(
        len(run.detections),
        n_gt,
        n_det,
        tp,
        fp,
        fn,
        run.ms_per_frame,
        gt_ignored=gt_ignored,
        ignored=ignored,
    )


def evaluate(detector: Detector, seq: Path, *, min_height: float = 0.0, iou: float = 0.5) -> Scores:
    """Run *detector* on every image of *seq* and score it against the ground truth, with
    boxes shorter than *min_height* pixels as "don't care" (the rule of the module)."""
    return score_boxes(run_detector(detector, seq), min_height=min_height, iou=iou)
