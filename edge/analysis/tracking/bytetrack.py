"""The ``bytetrack`` matcher: ByteTrack (Zhang et al. 2022; :mod:`.byte`) at a node's cadence.

ByteTrack predicts each identity's box with a Kalman filter, matches high-score boxes first
(IoU fused with the score, least-cost assignment), then low-score boxes to the identities left
over (a person half hidden), and keeps an identity it lost for a while so it can be found
again after a short occlusion. Its identities are its own; this matcher maps them to the
tracker's track ids. A box the tracker starts a new identity for is offered as a new track
(the tracker may still take it for part of a person); an identity whose track ended is never
mapped back to it (a detection never revives a track).

It was the ``supervision`` package's ByteTrack until 2026-12 (the same identities on the same
boxes: tests/analysis/test_track_byte.py); that package imports its whole library and
SciPy's optimizers, about 60 MB of a node's memory (docs/memory.md).

At a node's cadence: the detector runs every analysed frame (5 fps) while a first sighting
awaits confirmation, every ``busy_interval_s`` (0.4 s) while someone tracked moves, every
``recheck_s`` (1 s) while they stand still. The Kalman filter is tuned for video at 30 fps
(its noise is per step): fed 0.4 s apart, one step per run would take 0.4 s for one frame's
worth of motion. So each run moves the predictions on by the time gone by, one step per
1/``rate`` s (30), and a frame without a detector run loses nobody. After a gap of
more than two steps the match is looser (``sparse_threshold`` 0.9: IoU times score above
0.1, instead of ``match_threshold`` 0.8 between video frames): a prediction over 0.4 s is
rougher than over 1/30 s. On TUD-Campus as a node runs it (``edge eval --as-node``, the
five sampling phases together), with the tracker's near rule counting only tracks that took
no box: ID switches 19 -> 17 (``iou``: 38), events per true person 1.32 -> 1.12 (``iou``:
1.36), detector runs 60 -> 45 (``iou``: 41; fewer sightings left unconfirmed).

Scores: a box below ``low_score`` (0.55) only continues an identity already followed
(the second association: a person half hidden behind another); a new identity needs
``low_score`` + 0.1 (``new_score`` overrides it). On TUD-Campus (``edge eval --compare``)
0.55 took ID switches from 7 (0.2: every box high) to 2; 0.5 gave 5, 0.6 the same as 0.55;
the dev clips keep their person events with any of them.
"""

from __future__ import annotations

import numpy as np

from edge.analysis.detect.base import Detection
from edge.analysis.tracking.base import PART
from edge.analysis.tracking.byte import ByteTracker


class ByteTrackMatcher:
    """ByteTrack behind the :class:`edge.analysis.tracking.Matcher` calls."""

    def __init__(
        self,
        *,
        low_score: float = 0.55,
        new_score: float | None = None,
        match_threshold: float = 0.8,
        sparse_threshold: float = 0.9,
        lost_runs: int = 30,
        rate: float = 30.0,
    ) -> None:
        self.low_score = low_score
        self.new_score = new_score
        self.lost_runs = lost_runs
        self.rate = rate
        self.match_threshold = match_threshold
        self.sparse_threshold = sparse_threshold
        self._t: float | None = None
        self._bt = self._new()
        self._ours: dict[int, str] = {}
        """Identity key -> our track id."""
        self._last: dict[int, int] = {}
        """Detection index of the last assign -> identity key."""

    def _new(self) -> ByteTracker:
        return ByteTracker(
            low_score=self.low_score, new_score=self.new_score, lost_runs=self.lost_runs
        )

    def assign(
        self, dets: list[Detection], live: dict[str, Detection], t: float
    ) -> dict[int, str | None]:
        """Run the tracker on *dets*; map the identities that took a box back to them."""
        last, self._t = self._t, t
        # the first run steps once; later ones by the time gone by, a looser match after a gap
        steps = 1 if last is None else max(1, round((t - last) * self.rate))
        boxes = np.array([[d.x, d.y, d.x + d.w, d.y + d.h] for d in dets], dtype=np.float32)
        scores = np.array([d.score for d in dets], dtype=np.float32)
        stepped = self._bt.update(
            boxes.reshape(-1, 4),
            scores,
            steps=steps,
            match=self.sparse_threshold if steps > 2 else self.match_threshold,
        )
        self._last = {st.det: st.key for st in stepped}
        out: dict[int, str | None] = {}
        for i, key in sorted(self._last.items()):
            tid = self._ours.get(key)
            out[i] = tid if tid in live else None
        # a low-score box the tracker followed nobody with may still be part of a person
        return out | {i: PART for i in range(len(dets)) if i not in out}

    def idle(self, t: float) -> None:
        """Nothing to do until the next run (which moves the predictions on by the time gone
        by)."""

    def bind(self, i: int, track_id: str) -> None:
        """The identity of detection *i* now stands for *track_id*."""
        key = self._last.get(i)
        if key is None:
            return
        self._ours[key] = track_id

    def forget(self, track_id: str) -> None:
        """No identity stands for *track_id* any more."""
        for k in [k for k, v in self._ours.items() if v == track_id]:
            del self._ours[k]

    def reset(self) -> None:
        """A fresh tracker."""
        self._bt = self._new()
        self._t = None
        self._ours.clear()
        self._last = {}
