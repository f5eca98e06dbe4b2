"""Low light: what the detector is shown when the view is dark.

A person in a dark room (mean grey 2-5) is a few grey levels on a noisy background: person
detectors trained on daylight footage find nobody there. Brightened to a mean grey of about
100 they find people again, but only once the noise is tamed: at that gain a sensor's colour
noise becomes purple and green blotches, and its grain becomes people the detector sees
everywhere. So while the view is dark each analysed frame's grey is averaged into a running
mean (each new frame half the weight: noise down by 1.7x, a person walking at analysis rate
still sharp enough), and when the detector runs it gets that mean, smoothed by a Gaussian of
1/256 of the width, brightened, as a grey BGR image (a night camera's picture is grey anyway).

On the one-by-one sample clip darkened to a mean grey of 2.4 with sensor noise
(``tests/lowlight_video.py``), frames with a person in which the detector finds them: none
on the raw frame, about a third with the gain alone, 63% with a 5x5 blur before the gain
(and 297 false boxes in 697 frames), 88% like this (8 false boxes).

Cost while dark: a grey conversion and an accumulate per analysed frame (0.3 ms at
768x432); per detector run a blur and a gain (1.4 ms, against 20-25 ms for the detector).
Nothing by day.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.capture.frame import Image

TARGET = 100.0
"""Mean grey level a dark frame is brought to."""
MAX_GAIN = 64.0
"""Largest gain (a near-black frame is noise; more would only show the noise)."""
AVERAGE = 0.5
"""Weight of each new frame in the running mean."""
MAX_GAP_S = 1.0
"""A longer gap between frames starts the running mean again (a reconnect, a stall)."""


class LowLight:
    """Per camera: keeps the dark view's running mean; gives the detector its picture.

    *below*: mean grey under which the view counts as dark (0: never)."""

    def __init__(self, below: float) -> None:
        self.below = below
        self._mean: npt.NDArray[np.float32] | None = None
        self._t = 0.0
        self.brightness = 255.0
        """Mean grey of the last frame."""

    @property
    def dark(self) -> bool:
        """True while the view is dark (the detector is shown the brightened mean)."""
        return self._mean is not None

    def gain(self, brightness: float) -> float:
        """The gain for a view of mean grey *brightness*."""
        return min(MAX_GAIN, max(1.0, TARGET / max(brightness, 0.5)))

    def update(self, image: Image, t: float, brightness: float | None, lighting: bool) -> None:
        """Feed each analysed frame at camera time *t*: *brightness* is its mean grey when
        known (the motion gate measured it), *lighting* whether the light just changed."""
        if self.below <= 0:
            return
        if brightness is None:
            brightness = float(np.mean(cv2.mean(image)[:3]))
        self.brightness = brightness
        if brightness >= self.below:
            self._mean = None
            return
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        fresh = (
            self._mean is None
            or lighting
            or self._mean.shape != grey.shape
            or not 0 <= t - self._t <= MAX_GAP_S
        )
        if fresh:
            self._mean = grey.astype(np.float32)
        else:
            assert self._mean is not None
            cv2.accumulateWeighted(grey, self._mean, AVERAGE)
        self._t = t

    def picture(self, image: Image) -> Image:
        """What the detector should look at for the frame *image* last fed to
        :meth:`update`: itself in daylight, the brightened running mean in the dark."""
        if self._mean is None:
            return image
        sigma = max(1.0, self._mean.shape[1] / 256)
        smooth = cv2.GaussianBlur(self._mean, (0, 0), sigma)
        # in float to the end: a mean grey of 2.4 has fractions worth keeping at a gain of 40
        grey = cv2.convertScaleAbs(smooth, alpha=self.gain(self.brightness))
        return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), np.uint8)
