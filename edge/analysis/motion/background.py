"""Running-average background subtraction with thresholds relative to the scene's brightness
and noise, that tells lighting changes from motion."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.motion.base import Box, MotionResult
from edge.capture.frame import Image
from edge.config.cameras import MotionConfig

_KERNEL = np.ones((3, 3), np.uint8)
JUMP_FLOOR = 2.0
"""Grey level below which a change of mean brightness is measured against this instead (a
change from black to a mean of 0.8 is the lights coming on; one of 0.3 at a mean of 3 is not)."""
JUMP = 0.35
"""A change of mean brightness by this fraction at once is a lighting change."""
Float = npt.NDArray[np.float32]


class BackgroundMotion:
    """Motion gate: downscale, grey, gain compensation, running-average background.

    A pixel has changed when it differs from the background by more than its threshold: the
    larger of ``contrast`` times the scene's mean brightness (a change relative to the light
    there is) and ``noise_factor`` times the pixel's own learned noise (its mean absolute
    difference from the background while nothing moved there), at least ``min_threshold``
    and at most ``threshold``. In daylight that is ``threshold`` (25 grey levels); in a dark
    room (a mean grey of 3) the sensor's noise sets it, a grey level or two, so a person there
    still moves pixels. Computed in float at the downscaled size: dark scenes have only a few
    grey levels, blurring in integers would lose them.

    A sudden change over most of the frame, or of its mean brightness, is taken as a lighting
    change (lights switched, auto-exposure): the background is reset to the new scene and
    nothing is reported for a few frames while the exposure settles. The learned noise is
    scaled with the light (shot noise grows as its square root).
    """

    def __init__(
        self,
        cfg: MotionConfig,
        settle_frames: int = 3,
        resolution: Sequence[int] | None = None,
    ) -> None:
        self.cfg = cfg
        self.resolution = tuple(resolution) if resolution else None
        self._keep: npt.NDArray[np.uint8] | None = None
        self.settle_frames = settle_frames
        self._bg: Float | None = None
        self._noise: Float | None = None
        self._settle = 0
        self._size: tuple[int, int] | None = None
        self._small: tuple[int, int] = (0, 0)
        self._scale = 1.0
        self._grey: Float = np.zeros((1, 1), np.float32)
        self._diff: Float = np.zeros((1, 1), np.float32)
        self._thr: Float = np.zeros((1, 1), np.float32)

    def reset(self) -> None:
        """Forget the background (the next frame becomes it)."""
        self._bg = None

    @property
    def threshold(self) -> float:
        """The scene's global threshold now (grey levels): brightness-relative, clamped."""
        c = self.cfg
        mean = float(cv2.mean(self._bg)[0]) if self._bg is not None else 255.0
        return min(float(c.threshold), max(c.min_threshold, c.contrast * mean))

    def _prepare(self, image: Image) -> Float:
        h, w = image.shape[:2]
        if self._size != (w, h):
            self._size = (w, h)
            self._scale = w / self.cfg.width if w > self.cfg.width else 1.0
            sw = self.cfg.width if self._scale > 1.0 else w
            sh = max(1, round(h / self._scale)) if self._scale > 1.0 else h
            self._small = (sw, sh)
            self._bg = None
            self._noise = None
            self._keep = self._ignore_mask(w, h)
            self._grey = np.zeros((sh, sw), np.float32)
            self._diff = np.zeros((sh, sw), np.float32)
            self._thr = np.zeros((sh, sw), np.float32)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if self._scale > 1.0:
            # grey first, then a linear resize: 25x cheaper than an area resize of BGR, and the
            # blur below removes what aliasing it leaves
            grey = cv2.resize(grey, self._small, interpolation=cv2.INTER_LINEAR)
        np.copyto(self._grey, grey, casting="unsafe")
        cv2.GaussianBlur(self._grey, (5, 5), 0, dst=self._grey)
        return self._grey

    def _ignore_mask(self, w: int, h: int) -> npt.NDArray[np.uint8] | None:
        """255 where changes count, 0 in ignored areas, at the downscaled size."""
        if not self.cfg.ignore:
            return None
        rw, rh = self.resolution or (w, h)
        sw, sh = self._small
        keep = np.full((sh, sw), 255, np.uint8)
        for area in self.cfg.ignore:
            poly = np.array([[p[0] * sw / rw, p[1] * sh / rh] for p in area.points], np.int32)
            cv2.fillPoly(keep, [poly], 0)
        return keep

    def _recalibrate(self, grey: Float, old_mean: float, new_mean: float) -> None:
        """The new scene is the background; the noise learned scales with the light."""
        assert self._bg is not None and self._noise is not None
        np.copyto(self._bg, grey)
        ratio = (max(new_mean, 0.5) / max(old_mean, 0.5)) ** 0.5
        self._noise *= min(ratio, 8.0)

    def process(self, image: Image) -> MotionResult:
        """Analyse one frame."""
        grey = self._prepare(image)
        cur_mean = float(cv2.mean(grey)[0])
        if self._bg is None or self._noise is None:
            self._bg = grey.copy()
            # until learned, the noise is taken as what the brightness-relative threshold
            # allows: the gate starts as sensitive as the light says, never blind
            self._noise = np.full_like(grey, self.threshold / self.cfg.noise_factor)
            return MotionResult(False, (), 0.0, False, cur_mean)
        c = self.cfg
        bg_mean = float(cv2.mean(self._bg)[0])
        jump = abs(cur_mean - bg_mean) / max(bg_mean, JUMP_FLOOR)
        diff = self._diff
        # gain compensation: compare shapes, not brightness
        if cur_mean > 1.0 and bg_mean > 1.0:
            np.multiply(grey, np.float32(bg_mean / cur_mean), out=diff)
            cv2.absdiff(diff, self._bg, dst=diff)
        else:
            cv2.absdiff(grey, self._bg, dst=diff)
        thr = self._thr
        base = min(float(c.threshold), max(c.min_threshold, c.contrast * bg_mean))
        np.multiply(self._noise, np.float32(c.noise_factor), out=thr)
        np.clip(thr, base, float(c.threshold), out=thr)
        mask = np.asarray(cv2.compare(diff, thr, cv2.CMP_GT), np.uint8)
        if self._keep is not None:
            mask = np.asarray(cv2.bitwise_and(mask, self._keep), np.uint8)
        changed = float(cv2.countNonZero(mask)) / mask.size
        if changed >= c.lighting_change or jump >= JUMP:
            self._recalibrate(grey, bg_mean, cur_mean)
            self._settle = self.settle_frames
            return MotionResult(False, (), changed, True, cur_mean)
        if self._settle > 0:
            self._settle -= 1
            self._recalibrate(grey, bg_mean, cur_mean)
            return MotionResult(False, (), changed, True, cur_mean)
        mask = np.asarray(cv2.dilate(mask, _KERNEL, iterations=2), np.uint8)
        still = cv2.bitwise_not(mask)
        cv2.accumulateWeighted(grey, self._bg, c.alpha)
        # noise is learned where nothing moves: a person's pixels are not noise
        cv2.accumulateWeighted(diff, self._noise, c.noise_rate, mask=still)
        regions = self._regions(mask)
        return MotionResult(bool(regions), regions, changed, False, cur_mean)

    def _regions(self, mask: npt.NDArray[np.uint8]) -> tuple[Box, ...]:
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_px = self.cfg.min_area * mask.size
        s = self._scale
        regions: list[Box] = []
        for c in contours:
            if cv2.contourArea(c) < min_px:
                continue
            x, y, w, h = cv2.boundingRect(c)
            regions.append((round(x * s), round(y * s), round(w * s), round(h * s)))
        return tuple(regions)
