"""ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection
Box", ECCV 2022), the association itself, in NumPy.

Each detector run (:meth:`ByteTracker.update`):

1. every confirmed identity, followed or lost, is moved on by its Kalman filter
   (:mod:`.kalman`) by the steps gone by since the last run;
2. the boxes scoring at least ``low_score`` are matched to them first, on overlap (IoU)
   weighted by the box's score, least total cost (:mod:`.lsap`), a pair kept only when its
   cost is at most ``match_threshold``; a lost identity matched is found again;
3. the boxes between 0.1 and ``low_score`` (a person half hidden) are matched, on overlap
   alone (cost at most 0.5), to the identities followed a moment ago that took no box; those
   still without one are lost;
4. an identity started by the last run and not yet confirmed gets one more chance among the
   boxes left (cost at most 0.7), or is dropped; a box still left starts a new identity if it
   scores ``new_score`` (``low_score`` + 0.1 unless set);
5. an identity lost for more than ``lost_runs`` runs is removed, and of a followed and a lost
   identity on the same spot (IoU above 0.95) the younger goes.

The bookkeeping is the reference's, including its order (which list an identity is in, when a
removed one leaves the lost list), so the identities are the ones the reference (the
``supervision`` package's ByteTrack) gives on the same boxes: tests/analysis/test_track_byte.py
runs both over TUD-Campus's people at a node's cadence and over random scenes. One
difference: identities started on the same run are numbered in the order of their boxes
(the reference: the order of a Python set of box indices, the same up to eight boxes).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.analysis.tracking import kalman
from edge.analysis.tracking.lsap import linear_sum_assignment

Boxes = npt.NDArray[np.float32]
"""Boxes as rows of (x1, y1, x2, y2)."""


class State(enum.IntEnum):
    """Where an identity stands."""

    NEW = 0
    FOLLOWED = 1
    LOST = 2
    REMOVED = 3


@dataclass(eq=False)
class Identity:
    """One person as the tracker follows them (a box not yet taken up is one too, without a
    key or a state)."""

    tlwh: npt.NDArray[np.float32]
    """The box it was made from: left, top, width, height."""
    score: float
    det: int
    """Which box of the last run that gave it one (its index in that run's boxes)."""
    key: int = -1
    state: State = State.NEW
    confirmed: bool = False
    """Seen on two runs in a row (or on the tracker's first run)."""
    run: int = 0
    """The last run that gave it a box."""
    first: int = 0
    """The run that started it."""
    mean: npt.NDArray[np.floating] | None = field(default=None, repr=False)
    cov: npt.NDArray[np.floating] | None = field(default=None, repr=False)

    def xyah(self) -> npt.NDArray[np.float32]:
        """Its box as centre x, centre y, aspect (width / height), height."""
        out = self.tlwh.copy()
        out[:2] += out[2:] / 2
        out[2] /= out[3]
        return out

    def tlbr(self) -> npt.NDArray[np.floating]:
        """Where it is now (the filter's estimate; its own box before it has one):
        x1, y1, x2, y2."""
        if self.mean is None:
            out = self.tlwh.copy()
        else:
            out = self.mean[:4].copy()
            out[2] *= out[3]
            out[:2] -= out[2:] / 2
        out[2:] += out[:2]
        return out

    def take(self, box: Identity, run: int) -> None:
        """Continue with *box*, the filter corrected by it."""
        assert self.mean is not None and self.cov is not None
        self.mean, self.cov = kalman.update(self.mean, self.cov, box.xyah())
        self.state = State.FOLLOWED
        self.run = run
        self.score = box.score
        self.det = box.det


def box_iou(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> Boxes:
    """The IoU of every box of *a* with every box of *b* (rows of x1, y1, x2, y2), computed in
    float64; 0 where both are empty."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(hi - lo, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros(inter.shape, dtype=np.float32)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _cost(rows: Sequence[Identity], cols: Sequence[Identity], *, scored: bool) -> Boxes:
    """1 - IoU between identities and boxes (float32); *scored*: 1 - IoU x the box's score."""
    if not rows or not cols:
        return np.empty((len(rows), len(cols)), dtype=np.float32)
    a = np.asarray([r.tlbr() for r in rows], dtype=np.float32)
    b = np.asarray([c.tlbr() for c in cols], dtype=np.float32)
    cost = np.asarray(1 - box_iou(a, b), dtype=np.float32)
    if scored:
        scores = np.array([c.score for c in cols], dtype=np.float32)
        cost = np.asarray(1 - (1 - cost) * scores[None, :], dtype=np.float32)
    return cost


def _match(cost: Boxes, limit: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Least-cost pairs of rows and columns with a cost of at most *limit*, and the rows and
    columns left (ascending). Costs above the limit are all made one value just above it
    before the assignment, so none of them decides the pairs that are kept."""
    n, m = cost.shape
    if cost.size == 0:
        return [], list(range(n)), list(range(m))
    capped = cost.copy()
    capped[capped > limit] = limit + 1e-4
    rows, cols = linear_sum_assignment(capped)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= limit]
    taken_r, taken_c = {r for r, _ in pairs}, {c for _, c in pairs}
    rest = [r for r in range(n) if r not in taken_r]
    return pairs, rest, [c for c in range(m) if c not in taken_c]


def _join(a: Iterable[Identity], b: Iterable[Identity]) -> list[Identity]:
    """*a* then *b*, each identity once."""
    seen: set[int] = set()
    out = []
    for t in [*a, *b]:
        if t.key not in seen:
            seen.add(t.key)
            out.append(t)
    return out


def _without(a: Iterable[Identity], b: Iterable[Identity]) -> list[Identity]:
    """*a* less the identities in *b*."""
    gone = {t.key for t in b}
    return [t for t in {t.key: t for t in a}.values() if t.key not in gone]


class ByteTracker:
    """The identities of one camera across detector runs."""

    def __init__(
        self, *, low_score: float, new_score: float | None = None, lost_runs: int = 30
    ) -> None:
        if new_score is None:
            new_score = low_score + 0.1 if low_score + 0.1 <= 1.0 else low_score
        self.low_score = low_score
        self.new_score = new_score
        self.lost_runs = lost_runs
        self.run = 0
        self.followed: list[Identity] = []
        """Identities with a box on the last run, or confirmed and not yet lost."""
        self.lost: list[Identity] = []
        self._removed: list[Identity] = []
        self._next_key = 0

    def update(
        self, boxes: Boxes, scores: npt.NDArray[np.float32], *, steps: int, match: float
    ) -> list[Identity]:
        """One detector run: *boxes* (x1, y1, x2, y2) with their *scores*, *steps* Kalman
        steps after the last run, pairs of the first association kept up to cost *match*.
        Returns the identities that took a box on this run."""
        self.run += 1
        ok = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
        ok &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        high = [i for i in range(len(boxes)) if ok[i] and scores[i] >= self.low_score]
        low = [i for i in range(len(boxes)) if ok[i] and 0.1 < scores[i] < self.low_score]
        first = [self._candidate(boxes[i], scores[i], i) for i in high]
        second = [self._candidate(boxes[i], scores[i], i) for i in low]
        taken: list[Identity] = []
        found: list[Identity] = []
        lost_now: list[Identity] = []
        removed_now: list[Identity] = []

        fresh = [t for t in self.followed if not t.confirmed]
        pool = _join([t for t in self.followed if t.confirmed], self.lost)
        self._predict(pool, steps)
        pairs, rest, left = _match(_cost(pool, first, scored=True), match)
        for r, c in pairs:
            (taken if pool[r].state == State.FOLLOWED else found).append(pool[r])
            pool[r].take(first[c], self.run)

        near = [pool[r] for r in rest if pool[r].state == State.FOLLOWED]
        pairs, rest, _ = _match(_cost(near, second, scored=False), 0.5)
        for r, c in pairs:
            taken.append(near[r])
            near[r].take(second[c], self.run)
        for r in rest:  # followed a moment ago (near holds only those): lost now
            near[r].state = State.LOST
            lost_now.append(near[r])

        boxes_left = [first[c] for c in left]
        pairs, rest, left = _match(_cost(fresh, boxes_left, scored=True), 0.7)
        for r, c in pairs:
            fresh[r].take(boxes_left[c], self.run)
            fresh[r].confirmed = True
            taken.append(fresh[r])
        for r in rest:
            fresh[r].state = State.REMOVED
            removed_now.append(fresh[r])
        for c in left:
            if boxes_left[c].score >= self.new_score:
                taken.append(self._start(boxes_left[c]))

        for t in self.lost:
            if self.run - t.run > self.lost_runs:
                t.state = State.REMOVED
                removed_now.append(t)
        followed = [t for t in self.followed if t.state == State.FOLLOWED]
        self.followed = _join(_join(followed, taken), found)
        lost = _without(self.lost, self.followed) + lost_now
        # the reference takes out the identities removed by the run *before* (this run's
        # go at the next): until then one can still be found again
        self.lost = _without(lost, self._removed)
        self._removed = removed_now
        self._drop_doubles()
        return [t for t in self.followed if t.run == self.run]

    def _candidate(self, box: npt.NDArray[np.float32], score: np.float32, i: int) -> Identity:
        tlwh = np.asarray(box, dtype=np.float32).copy()
        tlwh[2:] -= tlwh[:2]
        return Identity(tlwh, float(score), i)

    def _start(self, box: Identity) -> Identity:
        box.key = self._next_key
        self._next_key += 1
        box.mean, box.cov = kalman.initiate(box.xyah())
        box.state = State.FOLLOWED
        box.confirmed = self.run == 1
        box.run = box.first = self.run
        return box

    def _predict(self, pool: list[Identity], steps: int) -> None:
        if not pool:
            return
        mean = np.array([t.mean for t in pool], dtype=np.float64)
        cov = np.array([t.cov for t in pool], dtype=np.float64)
        kalman.predict(mean, cov, np.array([t.state != State.FOLLOWED for t in pool]), steps)
        for t, m, c in zip(pool, mean, cov, strict=True):
            t.mean, t.cov = m, c

    def _drop_doubles(self) -> None:
        """Of a followed and a lost identity on the same spot, the one followed for less long
        goes."""
        cost = _cost(self.followed, self.lost, scored=False)
        drop_f: set[int] = set()
        drop_l: set[int] = set()
        for i, j in zip(*np.nonzero(cost < 0.05), strict=True):
            f, g = self.followed[i], self.lost[j]
            if f.run - f.first > g.run - g.first:
                drop_l.add(int(j))
            else:
                drop_f.add(int(i))
        self.followed = [t for i, t in enumerate(self.followed) if i not in drop_f]
        self.lost = [t for j, t in enumerate(self.lost) if j not in drop_l]
