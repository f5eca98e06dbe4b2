"""Synthetic frames for tampering and darkness tests: a warehouse-like scene, the same scene
in the dark the way a sensor sees it (few grey levels, shot and read noise new in every
frame), and a lens being covered or sprayed. Pure functions of their arguments (noise from
a seed), so every test regenerates its frames."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Img = npt.NDArray[np.uint8]
Noise = Literal["gaussian", "poisson", "none"]


def scene(seed: int = 3, size: tuple[int, int] = (640, 360)) -> Img:
    """A lit warehouse-like view (BGR): grey floor, shelves and boxes with edges everywhere."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 90, np.uint8)
    for _ in range(40):
        x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.rectangle(
            img, (x, y), (x + int(rng.integers(10, 80)), y + int(rng.integers(10, 60))), c, -1
        )
    return img


def _noisy(level: npt.NDArray[np.float64], noise: Noise, sigma: float, seed: int) -> Img:
    rng = np.random.default_rng(seed)
    if noise == "poisson":  # shot noise (one grey level = one photo-electron) + read noise
        level = rng.poisson(np.maximum(level, 0.0)) + rng.normal(0.0, sigma, level.shape)
    elif noise == "gaussian":
        level = level + rng.normal(0.0, sigma, level.shape)
    return np.asarray(np.clip(np.rint(level), 0, 255), np.uint8)


def darken(
    image: Img, mean: float = 3.0, noise: Noise = "gaussian", sigma: float = 1.5, seed: int = 0
) -> Img:
    """*image* with the lights off: scaled as a whole to grey *mean* (a dark room keeps its
    structure, in a few grey levels) plus sensor noise (``sigma`` grey levels of read noise,
    and shot noise with ``poisson``), different for every *seed* (frame)."""
    level = image.astype(np.float64) * (mean / max(float(image.mean()), 1e-6))
    return _noisy(level, noise, sigma, seed)


def cover(
    image: Img,
    fraction: float = 1.0,
    level: float = 60.0,
    sigma: float = 1.0,
    side: Literal["left", "top"] = "left",
    seed: int = 0,
) -> Img:
    """A hand or cloth close to the lens over *fraction* of the view from *side*: out of
    focus (a soft edge, no texture), grey *level* (lit skin 60-120, black cloth 2-5) with
    *sigma* of sensor noise."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float64)
    if side == "left":
        mask[:, : round(w * fraction)] = 1.0
    else:
        mask[: round(h * fraction), :] = 1.0
    if 0.0 < fraction < 1.0:
        mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), 12), np.float64)
    m = mask[..., None]
    level_img = image.astype(np.float64) * (1.0 - m) + level * m
    out = _noisy(level_img, "gaussian", sigma, seed) if sigma > 0 else level_img
    return np.asarray(np.clip(out, 0, 255), np.uint8)


def spray(
    image: Img, amount: float = 1.0, haze: float = 140.0, sigma: float = 1.0, seed: int = 0
) -> Img:
    """A lens sprayed over: *amount* 0 (clean) to 1 (covered in paint) blurs the view and
    veils it with the paint (*haze*: its grey, lit paint is bright, black paint dark), while
    the room stays lit."""
    if amount <= 0.0:
        return image.copy()
    k = 1 + 2 * round(30 * amount)
    blurred = cv2.GaussianBlur(image, (k, k), 0).astype(np.float64)
    level = blurred * (1.0 - amount) + haze * amount
    return _noisy(level, "gaussian", sigma, seed)


def fade(image: Img, gain: float) -> Img:
    """The lights dimming as a whole: every pixel times *gain* (no noise: an encoder keeps a
    dark view at a flat 0, as alternating-light.h264 shows)."""
    return np.asarray(np.clip(np.rint(image.astype(np.float64) * gain), 0, 255), np.uint8)
