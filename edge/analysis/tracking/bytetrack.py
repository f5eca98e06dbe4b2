"""The ``bytetrack`` matcher: ByteTrack (Zhang et al. 2022) as the ``supervision`` package
keeps it (``supervision.tracker.byte_tracker``; extra ``tracking``).

ByteTrack predicts each track's box with a Kalman filter, matches high-score boxes first
(IoU fused with the score, Hungarian assignment), then low-score boxes to the tracks left
over (a person half hidden), and keeps a track it lost for a while so it can be found again
after a short occlusion. Its identities are its own *internal* track ids; this matcher maps
them to the tracker's track ids. A box the library starts a new identity for is offered as a
new track (the tracker may still take it for part of a person); a library identity whose
track ended is never mapped back to it (a detection never revives a track).

At a node's cadence: the detector runs every analysed frame (5 fps) while a first sighting
awaits confirmation, every ``busy_interval_s`` (0.4 s) while someone tracked moves, every
``recheck_s`` (1 s) while they stand still. The library's Kalman filter is tuned for video
at 30 fps (its noise is per step), and it predicts one step per update: fed 0.4 s apart it
would take 0.4 s for one frame's worth of motion. So before each run the predictions are
moved on by the time gone by, one step per 1/``rate`` s (30; the library's own step,
stacked: :mod:`edge.analysis.tracking.predict`), and a frame without a detector run loses
nobody. After a gap of
more than two steps the match is looser (``sparse_threshold`` 0.9: IoU times score above
0.1, instead of ``match_threshold`` 0.8 between video frames): a prediction over 0.4 s is
rougher than over 1/30 s. On TUD-Campus as a node runs it (``edge eval --as-node``, the
five sampling phases together), with the tracker's near rule counting only tracks that took
no box: ID switches 19 -> 17 (``iou``: 38), events per true person 1.32 -> 1.12 (``iou``:
1.36), detector runs 60 -> 45 (``iou``: 41; fewer sightings left unconfirmed).

Scores: a box below ``low_score`` (0.55) only continues a track the library is following
(its second, low-score association: a person half hidden behind another); a new identity
needs ``low_score`` + 0.1 (the library's rule; ``new_score`` overrides it). On TUD-Campus
(``edge eval --compare``) 0.55 took ID switches from 7 (0.2: every box high) to 2; 0.5 gave
5, 0.6 the same as 0.55; the dev clips keep their person events with any of them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from edge.analysis.detect.base import Detection
from edge.analysis.tracking.base import PART
from edge.analysis.tracking.predict import predict_steps

try:
    from supervision.detection.utils.iou_and_nms import box_iou_batch
    from supervision.tracker.byte_tracker.core import ByteTrack
    from supervision.tracker.byte_tracker.single_object_track import TrackState
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError(
        "tracker = 'bytetrack' needs the supervision package (pip install "
        "'warehouse-edge[tracking]'); or set tracker = 'iou'"
    ) from e


class ByteTrackMatcher:
    """supervision's ByteTrack behind the :class:`edge.analysis.tracking.Matcher` calls."""

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
        self.new_score = new_score
        self.rate = rate
        self.match_threshold = match_threshold
        self.sparse_threshold = sparse_threshold
        self._t: float | None = None
        self._args: dict[str, Any] = {
            # below it a box only continues a track; a new identity needs 0.1 more (new_score)
            "track_activation_threshold": low_score,
            "minimum_matching_threshold": match_threshold,
            "lost_track_buffer": lost_runs,
            "frame_rate": 30,
            "minimum_consecutive_frames": 1,
        }
        self._bt = self._new()
        self._ours: dict[int, str] = {}
        """Library internal id -> our track id."""
        self._last: dict[int, int] = {}
        """Detection index of the last assign -> library internal id."""

    def _new(self) -> ByteTrack:
        with warnings.catch_warnings():  # deprecated in favour of `trackers` (pulls opencv-python)
            warnings.simplefilter("ignore")
            bt = ByteTrack(**self._args)
        if self.new_score is not None:
            bt.det_thresh = self.new_score
        return bt

    def assign(
        self, dets: list[Detection], live: dict[str, Detection], t: float
    ) -> dict[int, str | None]:
        """Step the library with *dets*; map the identities it reports back to detections."""
        self._advance(t)
        tensors = np.array(
            [[d.x, d.y, d.x + d.w, d.y + d.h, d.score] for d in dets], dtype=np.float32
        ).reshape(-1, 5)
        self._bt.update_with_tensors(tensors)
        stepped = [s for s in self._bt.tracked_tracks if s.frame_id == self._bt.frame_id]
        self._last = {}
        out: dict[int, str | None] = {}
        if not stepped or not dets:
            return {i: PART for i in range(len(dets))}
        # which box each identity took: the library keeps only its Kalman estimate (after a
        # jump it can overlap the box by less than half) and the box's score, exactly
        ious = box_iou_batch(tensors[:, :4], np.array([s.tlbr for s in stepped]))
        for k, st in enumerate(stepped):
            same = [i for i in range(len(dets)) if tensors[i, 4] == st.score and i not in out]
            if not same:
                continue
            i = max(same, key=lambda i: float(ious[i, k]))
            key = int(st.internal_track_id)
            self._last[i] = key
            tid = self._ours.get(key)
            out[i] = tid if tid in live else None
        # a low-score box the library followed nobody with may still be part of a person
        return dict(sorted(out.items())) | {i: PART for i in range(len(dets)) if i not in out}

    def idle(self, t: float) -> None:
        """Nothing to do until the next run (:meth:`_advance` then moves the predictions on
        by the time gone by)."""

    def _advance(self, t: float) -> None:
        """Before a run at camera time *t*: move the predictions of the followed identities
        on by the time gone by, one Kalman step per 1/``rate`` s (the library's filter is
        tuned for 30 fps video), less the one step the library's own update takes; and pick
        the match threshold for the gap. Frames without a run in between lose nobody."""
        last, self._t = self._t, t
        if last is None:
            return
        steps = max(1, round((t - last) * self.rate))
        bt = self._bt
        # a run after a gap (a node's 0.2-1 s): the prediction is rougher, a looser match
        sparse = steps > 2
        bt.minimum_matching_threshold = self.sparse_threshold if sparse else self.match_threshold
        steps -= 1
        pool = [s for s in bt.tracked_tracks if s.is_activated] + bt.lost_tracks
        lost = [s.state != TrackState.Tracked for s in pool]
        predict_steps(pool, bt.shared_kalman, lost, steps)

    def bind(self, i: int, track_id: str) -> None:
        """The library identity of detection *i* now stands for *track_id*."""
        key = self._last.get(i)
        if key is None:
            return
        self._ours[key] = track_id

    def forget(self, track_id: str) -> None:
        """No library identity stands for *track_id* any more."""
        for k in [k for k, v in self._ours.items() if v == track_id]:
            del self._ours[k]

    def reset(self) -> None:
        """A fresh library tracker."""
        self._bt = self._new()
        self._t = None
        self._ours.clear()
        self._last = {}
