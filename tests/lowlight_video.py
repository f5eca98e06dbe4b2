"""Low-light test footage: a sample video as a cheap sensor would film it in a dark room.

Each frame's luma is scaled to a mean grey of about ``mean`` (one exposure for the whole
clip, a room with one weak light), then sensor noise is added per frame: shot noise (Poisson
in photo-electrons: brighter pixels are noisier) and Gaussian read noise, clipped at black,
and the result encoded as H.264 as a camera would. The noise is made in the camera's own
YUV 4:2:0 planes (no colour conversion, which at these levels would round most of the
picture away). Every ``step``-th frame is kept (the node analyses 5 fps of this 10 fps clip,
so it sees every kept frame and nothing else) and timestamps stay those of the source, so
people arrive at the same times as in the bright original.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

#: Photo-electrons per grey level: about 12 e- at a mean grey of 3, a dim sensor.
ELECTRONS_PER_LEVEL = 4.0
#: Read noise, grey levels (standard deviation).
READ_NOISE = 1.0
#: Chroma noise, chroma levels (the 2x2-subsampled planes average some of it away).
CHROMA_NOISE = 0.7
#: Studio-range luma: grey 0 is Y 16, grey 255 is Y 235.
_Y0, _YS = 16.0, 219.0 / 255.0


def darken(
    yuv: npt.NDArray[np.uint8], scale: float, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """A planar yuv420p frame (``(h * 3 // 2, w)``) scaled by *scale* with sensor noise.

    Shot noise is Poisson in photo-electrons: at a dozen electrons and more it is Gaussian
    with a variance equal to the count, so one standard-normal draw per pixel carries both
    (variance ``grey / ELECTRONS_PER_LEVEL + READ_NOISE**2`` in grey levels), several times
    cheaper than drawing Poisson numbers."""
    h = yuv.shape[0] * 2 // 3
    out = np.empty_like(yuv)
    grey = (yuv[:h].astype(np.float32) - _Y0) / _YS
    np.maximum(grey, 0, out=grey)
    grey *= scale
    sigma = np.sqrt(grey / ELECTRONS_PER_LEVEL + READ_NOISE**2)
    grey += sigma * rng.standard_normal(grey.shape, dtype=np.float32)
    out[:h] = np.clip(np.rint(grey * _YS + _Y0), _Y0, 235)
    chroma = yuv[h:].astype(np.float32) - 128.0
    chroma *= scale
    chroma += rng.standard_normal(chroma.shape, dtype=np.float32) * CHROMA_NOISE
    out[h:] = np.clip(np.rint(chroma + 128.0), 16, 240)
    return out


def make_lowlight(
    source: Path,
    out: Path,
    *,
    mean: float = 3.0,
    step: int = 2,
    seed: int = 20261129,
    crf: int = 23,
) -> Path:
    """Write a low-light version of *source* to *out* (mp4, H.264): every *step*-th frame,
    the exposure scaled so that the clip's mean grey is about *mean*, noise added per frame
    (the same *seed*, the same clip)."""
    rng = np.random.default_rng(seed)
    with av.open(str(source)) as inp, av.open(str(out), "w", format="mp4") as dst:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        rate = Fraction(vin.average_rate or 10) / step
        stream = dst.add_stream("libx264", rate=rate)
        stream.width, stream.height = vin.codec_context.width, vin.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        stream.options = {"preset": "ultrafast", "crf": str(crf), "g": "10"}
        scale = 0.0
        n = 0
        for i, f in enumerate(inp.decode(vin)):
            if i % step:
                continue
            yuv = np.asarray(f.to_ndarray(format="yuv420p"), np.uint8)
            if not scale:  # one exposure for the clip: a dark room, no auto-exposure
                h = yuv.shape[0] * 2 // 3
                scale = mean / max(float(yuv[:h].mean() - _Y0) / _YS, 1.0)
            vf = av.VideoFrame.from_ndarray(darken(yuv, scale, rng), format="yuv420p")
            vf.pts = n
            n += 1
            for pkt in stream.encode(vf):
                dst.mux(pkt)
        for pkt in stream.encode(None):
            dst.mux(pkt)
    return out
