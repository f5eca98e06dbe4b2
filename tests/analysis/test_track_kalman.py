"""ByteTrack's identities moved on by many Kalman steps at once (``predict_steps``) end where
the library's own one-step ``STrack.multi_predict``, called as often, puts them: bitwise,
for followed and lost identities, one or many, over a node's gaps (1-30 steps)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from edge.analysis.tracking.predict import predict_steps

pytest.importorskip("supervision", reason="tracker = 'bytetrack' needs the 'tracking' extra")

from supervision.tracker.byte_tracker.kalman_filter import KalmanFilter
from supervision.tracker.byte_tracker.single_object_track import (
    STrack,
    TrackState,
)


def _tracks(rng: np.random.Generator, n: int) -> list[Any]:
    """*n* identities with random states (a height above 20 px, a moving height), every
    other one lost, each started from a real measurement by the library's filter."""
    kalman = KalmanFilter()
    out = []
    for i in range(n):
        box = np.array([rng.uniform(0, 700), rng.uniform(0, 400), rng.uniform(0.3, 0.6), 0.0])
        box[3] = rng.uniform(20, 300)
        st: Any = STrack.__new__(STrack)
        st.mean, st.covariance = kalman.initiate(box)
        st.mean[4:] = rng.normal(size=4) * [3, 2, 0.01, 1.5]  # under way
        noise = rng.normal(size=(8, 8))
        st.covariance = st.covariance + noise @ noise.T  # correlated, as after updates
        st.state = TrackState.Tracked if i % 2 == 0 else TrackState.Lost
        out.append(st)
    return out


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("steps", [1, 5, 11, 29])
def test_many_steps_at_once_equal_the_library_step_by_step(n: int, steps: int) -> None:
    """Means and covariances bitwise equal to the library's, lost identities' height velocity
    held at 0 as the library holds it."""
    kalman = KalmanFilter()
    ours = _tracks(np.random.default_rng(n * 100 + steps), n)
    theirs = copy.deepcopy(ours)
    for _ in range(steps):
        STrack.multi_predict(theirs, kalman)
    predict_steps(ours, kalman, [st.state != TrackState.Tracked for st in ours], steps)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a.mean, b.mean)
        assert np.array_equal(a.covariance, b.covariance)
        assert a.mean is not b.mean
    assert all(st.mean[7] == 0 for st in ours if st.state != TrackState.Tracked)
    assert any(st.mean[7] != 0 for st in ours if st.state == TrackState.Tracked)


def test_no_step_or_no_track_changes_nothing() -> None:
    """Zero steps leave the states as they are (the same arrays); no tracks is no work."""
    kalman = KalmanFilter()
    tracks = _tracks(np.random.default_rng(3), 2)
    before = [st.mean for st in tracks]
    predict_steps(tracks, kalman, [False, True], 0)
    assert all(st.mean is m for st, m in zip(tracks, before, strict=True))
    predict_steps([], kalman, [], 12)
