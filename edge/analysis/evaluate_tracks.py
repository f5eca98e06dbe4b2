"""``edge eval`` track measures: how well the node's tracker keeps one identity per person.

The detector's boxes on every image of a MOT sequence (:func:`edge.analysis.evaluate.run_detector`)
go through the camera's box filter (:class:`edge.analysis.detect.filters.BoxFilter`, a camera's
default detection settings) into the real tracker (:class:`edge.analysis.track.Tracker` with
the matcher the ``tracker`` setting names) at camera time ``(frame - first) / fps``: every
frame, or only frames ``interval`` seconds apart as a node runs its detector. What the tracker
reports in a frame it was fed is every *confirmed* track that took a box in it (the tracks that
are events on a node), with the box it took.

Scored over the frames fed, against the identities of ``gt/gt.txt``, with ``motmetrics`` (the
py-motmetrics CLEAR-MOT and ID measures, not formulas of our own):

* **IDF1** (identity F1: the share of boxes given the right identity over the whole sequence),
  **ID switches** (a person's track changes its id) and **fragmentations** (a person's track is
  lost and found again), and MOTA;
* the ``--min-height`` don't-care rule of the box scores applies: truth shorter than the
  minimum and ``conf`` 0 rows are ignore regions; a reported box matched to one of them (or
  short and matching nothing) is dropped before scoring, as the MOTChallenge tools drop boxes
  on distractors.

**Events per true person**: each START (a person event on a node) is put on the ground-truth
identity its track's boxes overlap most (the largest sum of IoU over the frames it reported,
pairs under ``iou`` not counted). Events per true person is the STARTs on people divided by
the people who got at least one (1.0: one alarm per person); the people who got none are
counted apart (a missed person is a recall matter, not a duplicate). As with boxes, a START on
a person never ``min_height`` tall, or on no one with a box shorter than that (or on a
``conf`` 0 region) when it started, is *ignored*; any other START on no one is *elsewhere*: a
false event.
"""

from __future__ import annotations

import math
import typing
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from edge.analysis.detect.base import Detection
from edge.analysis.detect.filters import BoxFilter
from edge.analysis.evaluate import DetectorRun, GroundTruth, greedy
from edge.analysis.track import Change, Tracker
from edge.analysis.tracking import make_matcher
from edge.config.detection import CameraDetectionConfig
from edge.core.errors import EdgeError


class TrackMeasuresUnavailable(EdgeError):
    """``motmetrics`` (the ``eval`` extra) or the tracker's own package is not installed."""


@dataclass(frozen=True)
class TrackOutput:
    """What a tracker reported over a sequence."""

    boxes: dict[int, list[tuple[str, Detection]]]
    """Frame number -> (track id, box) of each confirmed track that took a box in that frame."""
    starts: list[tuple[int, str]]
    """(frame number, track id) of each START, in order."""

    @property
    def frames(self) -> list[int]:
        """The frames the tracker was fed boxes in (the frames to score)."""
        return sorted(self.boxes)


@dataclass(frozen=True)
class TrackScores:
    """Track measures of one tracker over a sequence."""

    tracker: str
    idf1: float
    id_switches: int
    fragmentations: int
    mota: float
    people: int
    """Ground-truth identities with at least one counted box (at least ``min_height`` tall)."""
    starts: int
    """Person STARTs (events) the tracker made."""
    events_by_person: dict[int, int] = field(default_factory=dict)
    """Identity -> STARTs put on it (people with none left out)."""
    starts_ignored: int = 0
    """STARTs under the don't-care rule: on a person never ``min_height`` tall, or on no one
    with a box shorter than that (or on a ``conf`` 0 region) when they started."""

    @property
    def starts_on_people(self) -> int:
        """STARTs put on a counted identity."""
        return sum(self.events_by_person.values())

    @property
    def starts_elsewhere(self) -> int:
        """STARTs on no one that count (not :attr:`starts_ignored`): false events."""
        return self.starts - self.starts_on_people - self.starts_ignored

    @property
    def people_with_event(self) -> int:
        """Counted identities that caused at least one START."""
        return len(self.events_by_person)

    @property
    def events_per_person(self) -> float:
        """STARTs on people / people with at least one (0.0 when nobody got one)."""
        n = self.people_with_event
        return self.starts_on_people / n if n else 0.0

    def as_dict(self) -> dict[str, object]:
        """Figures for --json."""
        return {
            "tracker": self.tracker,
            "idf1": round(self.idf1, 4),
            "id_switches": self.id_switches,
            "fragmentations": self.fragmentations,
            "mota": round(self.mota, 4),
            "people": self.people,
            "people_with_event": self.people_with_event,
            "starts": self.starts,
            "starts_on_people": self.starts_on_people,
            "starts_elsewhere": self.starts_elsewhere,
            "starts_ignored": self.starts_ignored,
            "events_per_person": round(self.events_per_person, 3),
            "events_by_person": {str(k): v for k, v in sorted(self.events_by_person.items())},
        }


def make_tracker(d: CameraDetectionConfig) -> Tracker:
    """The tracker a camera with detection settings *d* runs, as the analyzer builds it."""
    try:
        return Tracker(
            confirm_hits=d.confirm_hits,
            confirm_window_s=d.confirm_window_s,
            lost_after_s=d.lost_after_s,
            matcher=make_matcher(d.tracker),
        )
    except ImportError as e:  # a matcher whose package is not installed (never scored as another)
        raise TrackMeasuresUnavailable(f"tracker {d.tracker!r}: {e}") from e


def run_tracker(
    tracker: Tracker,
    run: DetectorRun,
    fps: float,
    settings: CameraDetectionConfig,
    *,
    interval: float = 0.0,
) -> TrackOutput:
    """Feed *run*'s boxes, through the camera box filter of *settings*, to *tracker* at
    ``(frame - first) / fps`` seconds: every frame, or with *interval* (seconds) only frames at
    least that far apart, as a node runs its detector (the frames between only pass time);
    what it reported in the frames it was fed (:attr:`TrackOutput.frames`)."""
    keep = BoxFilter(settings)
    height, width = run.shape
    boxes: dict[int, list[tuple[str, Detection]]] = {}
    starts: list[tuple[int, str]] = []
    first = min(run.detections, default=0)
    t = 0.0
    fed = -math.inf
    for frame, dets in run.detections.items():
        t = (frame - first) / fps
        if t - fed < interval - 1e-9:
            tracker.update(None, t)
            continue
        fed = t
        for ev in tracker.update(keep(dets, width, height), t):
            if ev.change is Change.START:
                starts.append((frame, ev.track.id))
        boxes[frame] = [(tr.id, tr.box) for tr in tracker.tracks if tr.confirmed and tr.last_t == t]
    tracker.finish(t)
    return TrackOutput(boxes, starts)


def _truth(gt: GroundTruth, frame: int) -> list[tuple[int, Detection]]:
    """(identity, box) of a frame's truth boxes (the ``conf`` 0 regions have none)."""
    return list(zip(gt.ids.get(frame, []), gt.boxes.get(frame, []), strict=True))


def _people(gt: GroundTruth, min_height: float) -> set[int]:
    """Identities with at least one box at least *min_height* tall."""
    return {i for f in gt.boxes for i, b in _truth(gt, f) if b.h >= min_height}


def _reported(
    gt: GroundTruth, frame: int, out: TrackOutput, min_height: float, iou: float
) -> tuple[list[int], list[Detection], list[str], list[Detection]]:
    """A frame's counted truth (ids, boxes) and the reported boxes that count (ids, boxes)."""
    counted = [(i, b) for i, b in _truth(gt, frame) if b.h >= min_height]
    regions = [b for b in gt.boxes.get(frame, []) if b.h < min_height]
    regions += gt.ignored.get(frame, [])
    hyps = out.boxes.get(frame, [])
    hits = greedy([b for _, b in hyps], [b for _, b in counted], iou, set())
    kept = [
        (k, b)
        for n, (k, b) in enumerate(hyps)
        if n in hits or (b.h >= min_height and not any(b.iou(r) >= iou for r in regions))
    ]
    return (
        [i for i, _ in counted],
        [b for _, b in counted],
        [k for k, _ in kept],
        [b for _, b in kept],
    )


def _events_by_person(
    gt: GroundTruth, out: TrackOutput, min_height: float, iou: float
) -> tuple[dict[int, int], int]:
    """Counted identity -> STARTs whose track overlaps it most; the STARTs ignored."""
    started = {k for _, k in out.starts}
    overlap: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for frame, hyps in out.boxes.items():
        truth = _truth(gt, frame)
        for k, box in hyps:
            if k not in started:
                continue
            for ident, g in truth:
                value = box.iou(g)
                if value >= iou:
                    overlap[k][ident] += value
    counted = _people(gt, min_height)
    found: Counter[int] = Counter()
    ignored = 0
    for frame, k in out.starts:
        if overlap.get(k):
            ident = max(overlap[k].items(), key=lambda kv: (kv[1], -kv[0]))[0]
            if ident in counted:
                found[ident] += 1
            else:
                ignored += 1
            continue
        first = next((b for kk, b in out.boxes.get(frame, []) if kk == k), None)
        regions = gt.ignored.get(frame, [])
        if first is not None and (
            first.h < min_height or any(first.iou(r) >= iou for r in regions)
        ):
            ignored += 1
    return dict(found), ignored


def score_tracks(
    gt: GroundTruth,
    out: TrackOutput,
    frames: typing.Iterable[int],
    *,
    tracker: str = "iou",
    min_height: float = 0.0,
    iou: float = 0.5,
) -> TrackScores:
    """Score *out* over *frames* against *gt*'s identities (see the module)."""
    try:
        import motmetrics as mm
    except ImportError as e:
        raise TrackMeasuresUnavailable(
            "track measures need motmetrics: pip install -e '.[eval]'"
        ) from e
    acc = mm.MOTAccumulator(auto_id=False)
    numbers: dict[str, int] = {}
    for frame in sorted(frames):
        gt_ids, gt_boxes, hyp_ids, hyp_boxes = _reported(gt, frame, out, min_height, iou)
        distances = _distances(gt_boxes, hyp_boxes, iou)
        hyps = [numbers.setdefault(k, len(numbers)) for k in hyp_ids]
        acc.update(gt_ids, hyps, distances, frameid=frame)
    summary = mm.metrics.create().compute(
        acc, metrics=["idf1", "num_switches", "num_fragmentations", "mota"], name=tracker
    )
    row = summary.loc[tracker]
    people = _people(gt, min_height)
    found, ignored = _events_by_person(gt, out, min_height, iou)
    return TrackScores(
        tracker=tracker,
        idf1=_number(row["idf1"]),
        id_switches=int(row["num_switches"]),
        fragmentations=int(row["num_fragmentations"]),
        mota=_number(row["mota"]),
        people=len(people),
        starts=len(out.starts),
        events_by_person=found,
        starts_ignored=ignored,
    )


def _number(value: object) -> float:
    """A motmetrics figure as a float (0.0 where it is undefined: no truth, no boxes)."""
    f = float(typing.cast(float, value))
    return 0.0 if math.isnan(f) else f


def _distances(gt: list[Detection], hyps: list[Detection], iou: float) -> np.ndarray:
    """motmetrics' distance matrix: 1 - IoU, NaN (no match) under *iou*. (Its own
    ``iou_matrix`` calls ``np.asfarray``, gone in NumPy 2.)"""
    out = np.full((len(gt), len(hyps)), np.nan)
    for r, g in enumerate(gt):
        for c, h in enumerate(hyps):
            value = g.iou(h)
            if value >= iou:
                out[r, c] = 1.0 - value
    return out
