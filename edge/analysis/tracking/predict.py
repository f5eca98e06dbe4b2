"""Many Kalman prediction steps at once for ByteTrack's followed identities.

A node runs the detector 0.2-1 s apart, and the library's filter steps at 30 fps, so before
each run :class:`edge.analysis.tracking.bytetrack.ByteTrackMatcher` moves its identities on by
6-30 steps. ``STrack.multi_predict`` does one step: it copies every identity's state into new
arrays, builds one diagonal noise matrix per identity in a Python loop, and writes the states
back; called 30 times, that bookkeeping (under the GIL) cost more than the arithmetic: a third
of the node's Python time at 32 cameras (py-spy). :func:`predict_steps` stacks the states once,
runs the library's step (``KalmanFilter.multi_predict``) after step on them, and writes them
back once. The motion matrix's products are written as the sums they are (each of two terms,
so exact in any order), the noise as the library computes it: the result is bitwise the
same (tests/analysis/test_track_predict.py checks it against the library on random states).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def predict_steps(tracks: Sequence[Any], kalman: Any, lost: Sequence[bool], steps: int) -> None:
    """Move each of *tracks* (``STrack``) on by *steps* prediction steps of *kalman* (the
    library's ``KalmanFilter``): the same as calling ``STrack.multi_predict(tracks, kalman)``
    *steps* times. An identity the library is not following this moment (*lost*, one flag per
    track) keeps its height's velocity at 0, as there."""
    if steps < 1 or not tracks:
        return
    mean = np.array([st.mean for st in tracks], dtype=np.float64)  # copies: written back
    cov = np.array([st.covariance for st in tracks], dtype=np.float64)
    gone = np.array(lost, dtype=bool)
    pos, vel = kalman._std_weight_position, kalman._std_weight_velocity
    std = np.empty((len(tracks), 8))
    std[:, 2], std[:, 6] = 1e-2, 1e-5
    diag = np.arange(8)
    for _ in range(steps):
        mean[gone, 7] = 0
        h = mean[:, 3]
        std[:, 0] = std[:, 1] = std[:, 3] = pos * h
        std[:, 4] = std[:, 5] = std[:, 7] = vel * h
        # F = [[I, I], [0, I]] (dt 1): F x adds the velocities to the positions, F C F' adds
        # the velocity rows, then columns: each sum is two terms, exact as the library's dot
        mean[:, :4] += mean[:, 4:]
        cov[:, :4, :] += cov[:, 4:, :]
        cov[:, :, :4] += cov[:, :, 4:]
        cov[:, diag, diag] += np.square(std)
    for st, m, c in zip(tracks, mean, cov, strict=True):
        st.mean = m
        st.covariance = c
