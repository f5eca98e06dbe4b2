"""The border of a masked area: what a mask's outline encloses bleeds a pixel or two out of it
before any frame reaches the node (anti-aliased edges, 4:2:0 chroma), so the hidden area
must reach past the outline. A high-contrast pattern drawn inside a slanted, fractional
outline the way a camera sees it (anti-aliased), encoded as H.264, decoded by PyAV with the
mask, snapshotted as an event is and the JPEG decoded again: no pixel of the outline, nor
of a 1-pixel border round it, differs from the black fill by more than JPEG noise, nor from
the snapshot of the same scene without the pattern."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest
import synth

from edge.capture.file import FileInput
from edge.capture.frame import Frame, Role
from edge.capture.privacy import EDGE_PX, MaskSpec
from edge.clips.snapshot import SnapshotSaver
from edge.clips.store import ClipStore

W, H = 640, 360
OUTLINE = ((101.3, 60.7), (262.6, 83.2), (240.4, 201.9), (88.8, 180.5))
"""Slanted edges at fractional points: every edge pixel is partly inside, partly out."""
SUPER = 16
"""Supersampling of the scene: pixels the outline grazes get part of the pattern."""
JPEG_NOISE = 32
"""Largest difference from the black fill that JPEG (quality 85) makes near an edge with
mid-grey outside (17 measured): anything of the pattern is 110-180 off."""
PATTERN_NOISE = 16
"""Largest difference from the same snapshot without the pattern (8 measured; the pattern's
anti-aliased edge, unmasked, is 47-127)."""

Img = npt.NDArray[np.uint8]


def coverage(outline: tuple[tuple[float, float], ...], w: int, h: int) -> npt.NDArray[np.float32]:
    """How much of each pixel *outline* covers (0..1), by 16x supersampling of its bounding
    box; points on pixel corners (pixel i spans i..i+1), as masks are drawn."""
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    x0, y0 = max(0, int(min(xs)) - 2), max(0, int(min(ys)) - 2)
    x1, y1 = min(w, int(max(xs)) + 3), min(h, int(max(ys)) + 3)
    big = np.zeros(((y1 - y0) * SUPER, (x1 - x0) * SUPER), np.uint8)
    at = [
        [round(((x - x0) * SUPER - 0.5) * 16), round(((y - y0) * SUPER - 0.5) * 16)]
        for x, y in outline
    ]
    cv2.fillPoly(big, [np.array(at, np.int32)], 255, shift=4)
    out = np.zeros((h, w), np.float32)
    small = cv2.resize(
        big.astype(np.float32) / 255, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA
    )
    out[y0:y1, x0:x1] = small
    return out


def scene(with_pattern: bool) -> Img:
    """A grey gradient; with the pattern, random colour cells inside the outline, blended in
    by coverage (anti-aliased, as a camera's optics and scaler make an edge)."""
    grey = np.tile(np.linspace(60, 160, W, dtype=np.uint8), (H, 1))
    bg = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR).astype(np.float32)
    if not with_pattern:
        return bg.astype(np.uint8)
    cells = np.tile(synth.pattern(), (4, 7, 1))[:H, :W].astype(np.float32)
    a = coverage(OUTLINE, W, H)[..., None]
    return np.clip(bg * (1 - a) + cells * a + 0.5, 0, 255).astype(np.uint8)


def h264(path: Path, image: Img, frames: int = 10) -> Path:
    """*image* as an H.264 clip (yuv420p, as cameras send)."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        stream.options = {"preset": "ultrafast", "crf": "18", "g": "10"}
        for n in range(frames):
            vf = av.VideoFrame.from_ndarray(image, format="bgr24")
            vf.pts = n
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return path


def snapshot(tmp: Path, video: Path) -> Img:
    """A masked frame of *video* (PyAV decode, the camera's mask) saved as an event snapshot
    is, and that JPEG decoded by PyAV."""
    spec = MaskSpec("hall", (W, H), (("office", OUTLINE),))
    frames = [i for i in FileInput("hall", video, mask=spec).stream() if isinstance(i, Frame)]
    assert Role.DETECT in frames[5].roles
    store = ClipStore(tmp / "clips", 100_000_000, 86400)
    saved: list[Path] = []
    snap_id = SnapshotSaver(store, on_saved=lambda _i, _c, p: saved.append(p)).save(
        "hall", frames[5].image, []
    )
    assert snap_id is not None and saved
    with av.open(str(saved[0])) as jpeg:
        image = next(jpeg.decode(video=0)).to_ndarray(format="bgr24")
    return np.asarray(image, np.uint8)


def outline_and_border() -> npt.NDArray[np.bool_]:
    """Every pixel the outline touches at all, and a 1-pixel border round them."""
    touched = (coverage(OUTLINE, W, H) > 0).astype(np.uint8)
    return np.asarray(cv2.dilate(touched, np.ones((3, 3), np.uint8))) > 0


def test_the_antialiased_edge_of_a_masked_pattern_is_not_in_the_snapshot(
    tmp_path: Path,
) -> None:
    """Unmasked, the pattern shows (the check can see it); masked, the outline plus a
    1-pixel border is the fill within JPEG noise and no different from the same scene
    without the pattern."""
    region = outline_and_border()
    patterned = h264(tmp_path / "p.mp4", scene(with_pattern=True))
    plain = h264(tmp_path / "c.mp4", scene(with_pattern=False))
    raw = [i for i in FileInput("hall", patterned).stream() if isinstance(i, Frame)][5].image
    assert synth.match_score(raw) > 0.5
    shot = snapshot(tmp_path / "a", patterned).astype(int)
    control = snapshot(tmp_path / "b", plain).astype(int)
    off_fill = int(np.abs(shot)[region].max())
    off_plain = int(np.abs(shot - control)[region].max())
    print(f"outline + 1 px: {off_fill} from the fill, {off_plain} from the plain scene")
    assert off_fill <= JPEG_NOISE
    assert off_plain <= PATTERN_NOISE
    assert synth.match_score(shot.astype(np.uint8)) < 0.5


@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0, 1.5])
def test_the_hidden_area_covers_every_pixel_the_outline_touches_and_a_border(
    scale: float,
) -> None:
    """On streams of the mask's size and scaled ones, for outlines at fractional points:
    every pixel the outline touches at all, plus 1 pixel round it, is hidden; and not more
    than EDGE_PX + 2 pixels beyond it (a mask is no excuse to black out the scene)."""
    rng = np.random.default_rng(23)
    w, h = round(W * scale), round(H * scale)
    for _ in range(20):
        cx, cy = rng.uniform(80, W - 80), rng.uniform(80, H - 80)
        angles = (np.arange(5) + rng.uniform(0, 0.8, 5)) * 2 * np.pi / 5  # round the centre
        radii = rng.uniform(10, 70, 5)
        outline = tuple(
            (float(cx + r * np.cos(a)), float(cy + r * np.sin(a)))
            for a, r in zip(angles, radii, strict=True)
        )
        hidden = MaskSpec("cam", (W, H), (("m", outline),)).raster(w, h)
        scaled = tuple((x * w / W, y * h / H) for x, y in outline)
        touched = (coverage(scaled, w, h) > 0).astype(np.uint8)
        border = np.asarray(cv2.dilate(touched, np.ones((3, 3), np.uint8))) > 0
        assert hidden[border].all(), f"{outline} at {w}x{h}: a touched pixel is shown"
        side = 2 * (EDGE_PX + 2) + 1
        limit = np.asarray(cv2.dilate(touched, np.ones((side, side), np.uint8))) > 0
        assert not (hidden & ~limit).any(), f"{outline} at {w}x{h}: hides too much"
