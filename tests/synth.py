"""Synthetic videos for privacy tests: a unique pattern planted in a private area."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from edge.capture.privacy import MaskSpec

W, H = 640, 360
FPS = 10
#: The private area (x0, y0, x1, y1); the pattern sits inside it.
PRIVATE = (40, 40, 200, 160)
PATTERN_AT = (72, 56)
CELL = 8


def pattern() -> npt.NDArray[np.uint8]:
    """A 96x96 BGR block of random coloured 8-px cells: survives H.264, unlike anything else."""
    rng = np.random.default_rng(20261128)
    cells = rng.integers(0, 2, size=(12, 12, 3), dtype=np.uint8) * 255
    return np.kron(cells, np.ones((CELL, CELL, 1), np.uint8)).astype(np.uint8)


def frame(n: int) -> npt.NDArray[np.uint8]:
    """Frame *n*: a grey gradient, a moving white square (public), the pattern (private)."""
    grey = np.tile(np.linspace(60, 160, W, dtype=np.uint8), (H, 1))
    img = np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    x = 260 + (n * 7) % 300
    cv2.rectangle(img, (x, 200), (x + 40, 260), (255, 255, 255), -1)
    p = pattern()
    px, py = PATTERN_AT
    img[py : py + p.shape[0], px : px + p.shape[1]] = p
    return img


def write_video(path: Path, frames: int = 40, raw: bool = False) -> Path:
    """Encode the synthetic clip as H.264: an .mp4, or a raw Annex-B .h264 stream."""
    fmt = "h264" if raw else "mp4"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        stream.options = {"preset": "ultrafast", "g": "10", "crf": "18"}
        for n in range(frames):
            vf = av.VideoFrame.from_ndarray(frame(n), format="bgr24")
            vf.pts = n
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return path


def match_score(image: npt.NDArray[np.uint8]) -> float:
    """How strongly the planted pattern appears anywhere in *image* (1.0 = exactly)."""
    p: Any = pattern()
    scale = image.shape[1] / W
    if scale != 1.0:
        p = cv2.resize(
            p, (round(p.shape[1] * scale), round(p.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    res = cv2.matchTemplate(image, p, cv2.TM_CCOEFF_NORMED)
    return float(res.max())


_X0, _Y0, _X1, _Y1 = PRIVATE
MASK_TOML = (
    'privacy_masks = [{ name = "commissioners office", points = '
    f"[[{_X0}, {_Y0}], [{_X1}, {_Y0}], [{_X1}, {_Y1}], [{_X0}, {_Y1}]] }}]\n"
    f"resolution = [{W}, {H}]"
)


def mask_spec(camera: str = "cam") -> MaskSpec:
    """The privacy mask over the private area, as a camera with MASK_TOML would have it."""
    x0, y0, x1, y1 = PRIVATE
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return MaskSpec(camera, (W, H), (("office", tuple((float(x), float(y)) for x, y in corners)),))
