"""ByteTrack's Kalman filter (``edge.analysis.tracking.kalman``) against the reference's
(the ``supervision`` package's, a test dependency): a new identity's state equal; many
prediction steps at once bitwise what the reference's one-step ``STrack.multi_predict`` gives
called as often, for followed and lost identities, one or many, over a node's gaps (1-30
steps); a correction equal to rounding (a direct solve where the reference factors)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from edge.analysis.tracking import kalman

pytest.importorskip("supervision", reason="the reference ByteTrack is in the 'test' extra")

from supervision.tracker.byte_tracker.kalman_filter import KalmanFilter
from supervision.tracker.byte_tracker.single_object_track import STrack, TrackState


def _tracks(rng: np.random.Generator, n: int) -> list[Any]:
    """*n* identities with random states (a height above 20 px, a moving height), every
    other one lost, each started from a real measurement by the reference's filter."""
    ref = KalmanFilter()
    out = []
    for i in range(n):
        box = np.array([rng.uniform(0, 700), rng.uniform(0, 400), rng.uniform(0.3, 0.6), 0.0])
        box[3] = rng.uniform(20, 300)
        st: Any = STrack.__new__(STrack)
        st.mean, st.covariance = ref.initiate(box)
        st.mean[4:] = rng.normal(size=4) * [3, 2, 0.01, 1.5]  # under way
        noise = rng.normal(size=(8, 8))
        st.covariance = st.covariance + noise @ noise.T  # correlated, as after updates
        st.state = TrackState.Tracked if i % 2 == 0 else TrackState.Lost
        out.append(st)
    return out


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("steps", [1, 5, 11, 29])
def test_many_steps_at_once_equal_the_reference_step_by_step(n: int, steps: int) -> None:
    """Means and covariances bitwise equal to the reference's, lost identities' height
    velocity held at 0 as the reference holds it."""
    ref = KalmanFilter()
    tracks = _tracks(np.random.default_rng(n * 100 + steps), n)
    theirs = copy.deepcopy(tracks)
    for _ in range(steps):
        STrack.multi_predict(theirs, ref)
    mean = np.array([st.mean for st in tracks], dtype=np.float64)
    cov = np.array([st.covariance for st in tracks], dtype=np.float64)
    still = np.array([st.state != TrackState.Tracked for st in tracks])
    kalman.predict(mean, cov, still, steps)
    for m, c, b in zip(mean, cov, theirs, strict=True):
        assert np.array_equal(m, b.mean)
        assert np.array_equal(c, b.covariance)
    assert all(mean[still, 7] == 0)
    assert all(mean[~still, 7] != 0)


def test_no_step_or_no_identity_changes_nothing() -> None:
    """Zero steps leave the states as they are; no identities is no work."""
    tracks = _tracks(np.random.default_rng(3), 2)
    mean = np.array([st.mean for st in tracks], dtype=np.float64)
    cov = np.array([st.covariance for st in tracks], dtype=np.float64)
    before = mean.copy(), cov.copy()
    kalman.predict(mean, cov, np.array([False, True]), 0)
    assert np.array_equal(mean, before[0]) and np.array_equal(cov, before[1])
    kalman.predict(np.empty((0, 8)), np.empty((0, 8, 8)), np.empty(0, dtype=bool), 12)


@pytest.mark.parametrize("seed", range(5))
def test_a_new_state_and_a_correction_equal_the_reference(seed: int) -> None:
    """``initiate`` bitwise as the reference's (float32 boxes, as the tracker gives them);
    ``update`` after a few steps within rounding of the reference's, covariance kept
    symmetric."""
    rng = np.random.default_rng(seed)
    ref = KalmanFilter()
    box = np.array([rng.uniform(50, 700), rng.uniform(50, 400), 0.4, rng.uniform(40, 300)],
                   dtype=np.float32)  # fmt: skip
    m0, c0 = kalman.initiate(box)
    r0, rc0 = ref.initiate(box)
    assert np.array_equal(m0, r0) and m0.dtype == r0.dtype
    assert np.array_equal(c0, rc0)
    mean, cov = m0[None].astype(np.float64), c0[None].copy()
    kalman.predict(mean, cov, np.array([False]), 6)
    seen = (box + rng.normal(0, 3, 4)).astype(np.float32)
    seen[2] = 0.41
    ours = kalman.update(mean[0], cov[0], seen)
    theirs = ref.update(mean[0], cov[0], seen)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours[1], ours[1].T, rtol=1e-9, atol=1e-9)
    assert abs(ours[0][0] - seen[0]) < abs(mean[0][0] - seen[0]) + 1e-9  # pulled to the box
