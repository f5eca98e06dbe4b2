"""Our ByteTrack (``edge.analysis.tracking.byte``) gives the identities the reference gives:
the ``supervision`` package's ByteTrack (the node's tracker until 2026-12, a test dependency
now) run on the same boxes, stepped as the node steps it. Boxes are TUD-Campus's true boxes
(people crossing and hiding each other), shaken, scored at random (some below the low score),
some missed, clutter added, at a node's uneven cadence; and random scenes. Every run: the
same identities took a box, at the same place."""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edge.analysis.tracking.byte import ByteTracker, State, box_iou

pytest.importorskip("supervision", reason="the reference ByteTrack is in the 'test' extra")

from supervision.detection.utils.iou_and_nms import box_iou_batch
from supervision.tracker.byte_tracker.core import ByteTrack
from supervision.tracker.byte_tracker.single_object_track import STrack

GT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "gt" / "TUD-Campus"

Run = tuple[np.ndarray, np.ndarray, int, float]
"""Boxes (x1, y1, x2, y2), scores, Kalman steps since the last run, match threshold."""


def _reference(runs: list[Run], low: float) -> list[list[tuple[int, np.ndarray]]]:
    """The library's identities per run: each run's steps less one taken by its own
    one-step prediction first (as the node's matcher did with it), then its update."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = ByteTrack(
            track_activation_threshold=low,
            minimum_matching_threshold=0.8,
            lost_track_buffer=30,
            frame_rate=30,
            minimum_consecutive_frames=1,
        )
    out = []
    for boxes, scores, steps, match in runs:
        bt.minimum_matching_threshold = match
        pool = [s for s in bt.tracked_tracks if s.is_activated] + bt.lost_tracks
        for _ in range(steps - 1):
            STrack.multi_predict(pool, bt.shared_kalman)
        bt.update_with_tensors(np.hstack([boxes, scores[:, None]]).astype(np.float32))
        stepped = [s for s in bt.tracked_tracks if s.frame_id == bt.frame_id]
        out.append([(int(s.internal_track_id), s.tlbr) for s in stepped])
    return out


def _ours(runs: list[Run], low: float) -> list[list[tuple[int, np.ndarray]]]:
    """Ours on the same runs."""
    bt = ByteTracker(low_score=low, lost_runs=30)
    out = []
    for boxes, scores, steps, match in runs:
        stepped = bt.update(boxes, scores, steps=steps, match=match)
        out.append([(t.key, t.tlbr()) for t in stepped])
    return out


def _same(a: list[list[tuple[int, np.ndarray]]], b: list[list[tuple[int, np.ndarray]]]) -> int:
    """Assert run by run: the same identities took a box, at the same place (to rounding).
    Keys are compared through one mapping kept over all runs: identities started on the same
    run are numbered in the order of their boxes here, in the order of a Python set of box
    indices there (the same order up to eight boxes). Returns the identity-runs compared."""
    assert len(a) == len(b)
    keys: dict[int, int] = {}
    n = 0
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        theirs = dict(y)
        assert len(x) == len(y), f"run {k}: {len(x)} identities, the reference {len(y)}"
        for key, box in x:
            if key not in keys:  # a new identity: the reference's at the same place
                new = [j for j, q in y if j not in keys.values() and np.allclose(box, q)]
                assert new, f"run {k}: identity {key} has no new counterpart"
                keys[key] = new[0]
            assert keys[key] in theirs, f"run {k}: identity {key} is not the reference's"
            np.testing.assert_allclose(box, theirs[keys[key]], rtol=1e-6, atol=1e-4,
                                       err_msg=f"run {k}")  # fmt: skip
        n += len(x)
    return n


def _tud_runs(seed: int) -> list[Run]:
    """TUD-Campus's true boxes at a node's cadence (every 1-12 frames of 25 fps), shaken by
    a few pixels, scored 0.3-0.95, one in eight missed, a low-score clutter box now and then."""
    frames: dict[int, list[list[float]]] = defaultdict(list)
    for line in (GT / "gt" / "gt.txt").read_text().splitlines():
        f, _, x, y, w, h = (float(v) for v in line.split(",")[:6])
        frames[int(f)].append([x, y, x + w, y + h])
    rng = np.random.default_rng(seed)
    runs: list[Run] = []
    f = 1
    while f <= max(frames):
        gap = int(rng.choice([1, 1, 2, 2, 5, 12]))
        rows = [b for b in frames.get(f, []) if rng.random() > 0.125]
        boxes = np.array(rows, dtype=np.float64).reshape(-1, 4) + rng.normal(0, 3, (len(rows), 4))
        scores = rng.uniform(0.3, 0.95, len(rows))
        if rng.random() < 0.3:
            x, y = rng.uniform(0, 500), rng.uniform(0, 250)
            boxes = np.vstack([boxes, [x, y, x + 40, y + 90]])
            scores = np.append(scores, rng.uniform(0.12, 0.5))
        steps = max(1, round(gap * 30 / 25))
        runs.append((boxes.astype(np.float32), scores.astype(np.float32), steps,
                     0.9 if steps > 2 else 0.8))  # fmt: skip
        f += gap
    return runs


def _random_runs(seed: int, n: int = 120) -> list[Run]:
    """People walking across a 768x432 scene, entering and leaving, seen at random steps,
    with crowding (boxes on top of each other) and empty runs."""
    rng = np.random.default_rng(seed)
    people: list[list[float]] = []
    runs: list[Run] = []
    for _ in range(n):
        if rng.random() < 0.15 or not people:
            people.append([rng.uniform(0, 700), rng.uniform(50, 300), rng.normal(0, 4), 60.0])
        steps = int(rng.choice([1, 2, 6, 12, 30]))
        rows, scores = [], []
        for p in people:
            p[0] += p[2] * steps / 6
            if rng.random() < 0.8:
                rows.append([p[0], p[1], p[0] + p[3] * 0.4, p[1] + p[3]])
                scores.append(rng.uniform(0.2, 0.99))
        people = [p for p in people if -50 < p[0] < 800 and rng.random() > 0.02]
        boxes = np.array(rows, dtype=np.float64).reshape(-1, 4) + rng.normal(0, 2, (len(rows), 4))
        runs.append((boxes.astype(np.float32), np.array(scores, dtype=np.float32), steps,
                     0.9 if steps > 2 else 0.8))  # fmt: skip
    return runs


@pytest.mark.parametrize("seed", range(6))
def test_tud_campus_identities_equal_the_reference(seed: int) -> None:
    """On TUD-Campus at a node's cadence, every run's identities equal the reference's."""
    runs = _tud_runs(seed)
    ours, theirs = _ours(runs, 0.55), _reference(runs, 0.55)
    assert _same(ours, theirs) > 25
    assert len({i for run in ours for i, _ in run}) >= 5  # several people, not one


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("low", [0.3, 0.55])
def test_random_scenes_identities_equal_the_reference(seed: int, low: float) -> None:
    """Random crossings, entries, exits and misses: the same identities as the reference."""
    runs = _random_runs(seed)
    assert _same(_ours(runs, low), _reference(runs, low)) > 50


def test_a_lost_person_is_found_again_under_the_same_key() -> None:
    """Missed for a few runs, a person found near where the filter put them keeps their
    identity; after ``lost_runs`` runs without a box the identity is gone and the person
    starts a new one."""
    bt = ByteTracker(low_score=0.5, lost_runs=5)
    box = np.array([[100, 100, 140, 200]], dtype=np.float32)
    score = np.array([0.9], dtype=np.float32)
    empty = np.empty((0, 4), dtype=np.float32)
    none = np.empty(0, dtype=np.float32)
    (first,) = bt.update(box, score, steps=1, match=0.8)
    bt.update(box + 2, score, steps=1, match=0.8)
    for _ in range(3):
        assert bt.update(empty, none, steps=1, match=0.8) == []
    assert first.state == State.LOST
    (again,) = bt.update(box + 4, score, steps=1, match=0.8)
    assert again is first and again.state == State.FOLLOWED
    for _ in range(8):
        bt.update(empty, none, steps=1, match=0.8)
    (new,) = bt.update(box, score, steps=1, match=0.8)
    assert new.key != first.key


def test_boxes_that_cannot_be_followed_are_skipped_and_named_by_their_index() -> None:
    """An empty, inverted or non-finite box, or a NaN score, takes no identity; the others
    do, each reporting the index of its own box in the run."""
    bt = ByteTracker(low_score=0.5)
    boxes = np.array(
        [[10, 10, 10, 50], [0, 0, np.inf, 5], [50, 50, 90, 150], [200, 200, 180, 260],
         [300, 50, 340, 150], [400, 50, 440, 150]],
        dtype=np.float32,
    )  # fmt: skip
    scores = np.array([0.9, 0.9, 0.9, 0.9, np.nan, 0.8], dtype=np.float32)
    got = bt.update(boxes, scores, steps=1, match=0.8)
    assert sorted(t.det for t in got) == [2, 5]


def test_box_iou_matches_the_reference() -> None:
    """IoU of random boxes, touching and empty ones included, as the reference computes it."""
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 100, (30, 4)).astype(np.float32)
    a[:, 2:] = a[:, :2] + rng.uniform(0, 40, (30, 2))
    a[0, 2] = a[0, 0]  # empty
    b = np.vstack([a[:10], rng.uniform(0, 100, (10, 4))]).astype(np.float32)
    b[10:, 2:] = b[10:, :2] + 20
    assert np.array_equal(box_iou(a, b), box_iou_batch(a, b))
