"""A decoded frame as it leaves the capture stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded BGR frame of one camera.

    ``pts`` is stream time in seconds (from the stream's timestamps, or the frame index over a
    configured rate when the stream has none); ``mono`` and ``wall`` are when it was captured.
    """

    camera: str
    seq: int
    pts: float
    mono: float
    wall: float
    image: Image
