"""Detector tiles: the windows over a frame, cut boxes, and merging the boxes of the views."""

from __future__ import annotations

import itertools

import numpy as np

from edge.analysis.detect.base import Detection
from edge.analysis.detect.tiles import TiledDetector, is_cut, merge, windows
from edge.capture.frame import Image

FULL = (0, 0, 640, 480)
LEFT = (0, 0, 416, 416)
RIGHT = (224, 0, 416, 416)


def test_frame_that_fits_the_input_is_one_view() -> None:
    """A frame no larger than the input is looked at once, whole."""
    assert windows(416, 300, 416) == [(0, 0, 416, 300)]


def test_tiles_cover_the_frame_with_overlap() -> None:
    """640x480 with a 416 input: the whole frame, then four 416 tiles that overlap and
    reach every edge of the frame."""
    wins = windows(640, 480, 416)
    assert wins[0] == FULL
    tiles = wins[1:]
    assert sorted(tiles) == [(0, 0, 416, 416), (0, 64, 416, 416), (224, 0, 416, 416),
                             (224, 64, 416, 416)]  # fmt: skip
    assert max(x + w for x, _, w, _ in tiles) == 640
    assert max(y + h for _, y, _, h in tiles) == 480


def test_long_side_gets_more_tiles_when_overlap_demands() -> None:
    """1280 wide with a 416 input and at least a quarter overlap needs four columns."""
    xs = sorted({x for x, _, _, _ in windows(1280, 416, 416)[1:]})
    assert xs == [0, 288, 576, 864]
    assert all(b - a <= 416 * 0.75 for a, b in itertools.pairwise(xs))


def test_box_on_an_inner_tile_border_is_cut_but_not_on_the_frame_edge() -> None:
    """A box touching the right border of the left tile (inside the frame) is cut; one
    touching the frame's own left edge is not."""
    assert is_cut(Detection(380, 100, 36, 150, 0.9), LEFT, 640, 480)
    assert not is_cut(Detection(0, 100, 40, 150, 0.9), LEFT, 640, 480)
    assert not is_cut(Detection(300, 100, 40, 150, 0.9), FULL, 640, 480)


def test_cut_box_is_dropped_and_whole_box_kept() -> None:
    """The tile's half person is dropped; the full frame's whole person stays, once."""
    whole = Detection(380, 100, 80, 200, 0.8)
    half = Detection(380, 100, 36, 200, 0.9)
    out = merge([(FULL, [whole]), (LEFT, [half])], 640, 480, iou=0.55, min_score=0.3)
    assert len(out) == 1
    assert out[0].w == 80


def test_same_person_in_several_views_is_one_box_weighted() -> None:
    """Boxes of one person from two views fuse into one, placed by score-weighted mean."""
    a = Detection(100, 100, 60, 160, 0.9)
    b = Detection(110, 100, 60, 160, 0.3)
    out = merge([(FULL, [a]), (LEFT, [b])], 640, 480, iou=0.55, min_score=0.3)
    assert len(out) == 1
    assert abs(out[0].x - 102.5) < 1e-6
    assert abs(out[0].score - 0.6) < 1e-6  # (0.9 + 0.3) / 2 views


def test_box_seen_by_one_view_of_several_scores_lower() -> None:
    """A box inside three views but found by one only is averaged over the three and
    dropped below the lowest score, while one found by all three stays."""
    lone = Detection(300, 100, 50, 150, 0.6)  # inside FULL, LEFT and RIGHT
    seen = Detection(300, 250, 50, 150, 0.6)
    views = [(FULL, [lone, seen]), (LEFT, [seen]), (RIGHT, [seen])]
    out = merge(views, 640, 480, iou=0.55, min_score=0.3)
    assert [round(d.y) for d in out] == [250]
    assert abs(out[0].score - 0.6) < 1e-6


def test_two_boxes_of_one_view_stay_apart() -> None:
    """Two overlapping boxes of the same view (two people the view's NMS kept) are never
    fused into one cluster."""
    a = Detection(100, 100, 60, 160, 0.9)
    b = Detection(115, 100, 60, 160, 0.8)
    out = merge([(FULL, [a, b])], 640, 480, iou=0.5, min_score=0.3)
    assert len(out) == 2


class _Fake:
    """A detector that finds one box in the top-left corner of whatever it is shown, and
    records the shapes it was shown."""

    name = "fake"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def detect(self, image: Image) -> list[Detection]:
        self.shapes.append((image.shape[1], image.shape[0]))
        return [Detection(10, 10, 40, 100, 0.9)]


def test_tiled_detector_runs_inner_on_each_window_and_maps_back() -> None:
    """On 640x480 the inner detector sees the frame and four 416 tiles; the corner box of
    the tile at (224, 64) comes back shifted into frame pixels (found by one of the five
    views that contain it: score 0.9 / 5)."""
    fake = _Fake()
    det = TiledDetector(fake, 416, iou=0.55, min_score=0.15)
    out = det.detect(np.zeros((480, 640, 3), np.uint8))
    assert fake.shapes == [(640, 480)] + [(416, 416)] * 4
    shifted = [d for d in out if abs(d.x - 234) < 1e-6 and abs(d.y - 74) < 1e-6]
    assert len(shifted) == 1
    assert abs(shifted[0].score - 0.18) < 1e-6
    assert det.name == "fake+tiles"


def test_tiled_detector_on_small_frame_is_the_inner_detector() -> None:
    """A frame that fits the input costs one run and returns the inner boxes as they are."""
    fake = _Fake()
    out = TiledDetector(fake, 416, iou=0.55, min_score=0.3).detect(
        np.zeros((300, 400, 3), np.uint8)
    )
    assert fake.shapes == [(400, 300)]
    assert out == [Detection(10, 10, 40, 100, 0.9)]
