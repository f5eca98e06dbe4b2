"""ByteTrack's Kalman filter over a person's box, in NumPy.

The state is the box's centre, its aspect ratio (width / height) and its height, each with a
velocity (eight numbers); it moves at constant velocity, one step per video frame at 30 fps,
and the box the detector gives is a direct, noisy look at the first four. Every noise scales
with the box's height (1/20 of it for a position, 1/160 for a velocity), so a near person
and a far one are followed alike; the aspect ratio's noise is fixed. These are the settings
of ByteTrack's reference (after SORT and DeepSORT), so a track moves as it does there.

A node runs the detector 0.2-1 s apart, 6-30 steps. :func:`predict` takes all of them at once
on the stacked states of every identity: the motion matrix's products are written as the sums
they are (each of two terms, exact in any order), so the result is bitwise what one step at a
time gives (tests/analysis/test_track_kalman.py checks it against the reference step). The
correction (:func:`update`) solves with the innovation's covariance directly, where the
reference factors it first (Cholesky): the same numbers to rounding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]

POSITION = 1.0 / 20
"""A position's noise per step, as a share of the box's height."""
VELOCITY = 1.0 / 160
"""A velocity's noise per step, as a share of the box's height."""


def initiate(xyah: Array) -> tuple[Array, Array]:
    """The state of a new identity first seen at *xyah* (centre x, centre y, aspect, height):
    at rest, unsure of its position by a tenth of its height and of its speed by 1/16."""
    h = xyah[3]
    mean = np.concatenate([xyah, np.zeros_like(xyah)])
    std = [
        2 * POSITION * h,
        2 * POSITION * h,
        1e-2,
        2 * POSITION * h,
        10 * VELOCITY * h,
        10 * VELOCITY * h,
        1e-5,
        10 * VELOCITY * h,
    ]
    return mean, np.diag(np.square(std))


def predict(mean: Array, cov: Array, still: npt.NDArray[np.bool_], steps: int) -> None:
    """Move the stacked states *mean* (n x 8, float64) and *cov* (n x 8 x 8) on by *steps*
    steps, in place. An identity that is not being followed this moment (*still*) has its
    height's velocity held at 0 before each step."""
    if steps < 1 or len(mean) == 0:
        return
    std = np.empty((len(mean), 8))
    std[:, 2], std[:, 6] = 1e-2, 1e-5
    diag = np.arange(8)
    for _ in range(steps):
        mean[still, 7] = 0
        h = mean[:, 3]
        std[:, 0] = std[:, 1] = std[:, 3] = POSITION * h
        std[:, 4] = std[:, 5] = std[:, 7] = VELOCITY * h
        # F = [[I, I], [0, I]]: F x adds the velocities to the positions; F C F' adds the
        # velocity rows, then the columns
        mean[:, :4] += mean[:, 4:]
        cov[:, :4, :] += cov[:, 4:, :]
        cov[:, :, :4] += cov[:, :, 4:]
        cov[:, diag, diag] += np.square(std)


def update(mean: Array, cov: Array, xyah: Array) -> tuple[Array, Array]:
    """The state (*mean*, *cov*) corrected by the box *xyah* the detector gave."""
    h = mean[3]
    noise = np.diag(np.square([POSITION * h, POSITION * h, 1e-1, POSITION * h]))
    seen = mean[:4].astype(np.float64)  # the box the state says (the first four numbers)
    spread = cov[:4, :4] + noise
    gain = np.linalg.solve(spread, cov[:, :4].T).T  # cov H' spread^-1
    new_mean = mean + np.dot(xyah - seen, gain.T)
    new_cov = cov - np.linalg.multi_dot((gain, spread, gain.T))
    return new_mean, new_cov
