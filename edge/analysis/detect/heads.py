"""Decoding the raw outputs of the detector families we run, and non-maximum suppression.

All functions are pure numpy: boxes come back as ``(x1, y1, x2, y2, score)`` rows in the
*network input* pixel space, for the person class only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
PERSON = 0


def padded(length: int, step: int) -> int:
    """*length* rounded up to a multiple of *step* (at least one step): a rectangular input's
    side."""
    return max(step, -(-length // step) * step)


def grids(height: int, width: int, strides: tuple[int, ...]) -> tuple[Array, Array]:
    """Each output row's cell ``(x, y)`` and stride, for an input of *height* x *width*: per
    stride, ``(height // s) x (width // s)`` cells row by row, strides in order (YOLOX's
    output layout)."""
    cells, steps = [], []
    for s in strides:
        nh, nw = height // s, width // s
        yv, xv = np.meshgrid(np.arange(nh), np.arange(nw), indexing="ij")
        cells.append(np.stack((xv, yv), axis=-1).reshape(-1, 2))
        steps.append(np.full((nh * nw, 1), s))
    return (np.concatenate(cells).astype(np.float32), np.concatenate(steps).astype(np.float32))


class YoloxHead:
    """YOLOX: rows [x, y, w, h (raw), objectness, 80 class scores (sigmoid applied)] over
    strides 8/16/32. xy = (xy + grid) * stride, wh = exp(wh) * stride, score = obj * cls.

    The input may be rectangular (a model whose height and width are symbolic): the grids of
    each input shape are made once and kept (shapes are multiples of the largest stride up to
    the model's size, so at most (size / 32)^2 of them)."""

    def __init__(self, size: int, strides: tuple[int, ...] = (8, 16, 32)) -> None:
        self.size = size
        self.strides = strides
        self._grids: dict[tuple[int, int], tuple[Array, Array]] = {}
        self.grid, self.stride = self.grids_for(size, size)

    def grids_for(self, height: int, width: int) -> tuple[Array, Array]:
        """The (kept) cell and stride of each output row for a *height* x *width* input."""
        key = (height, width)
        if key not in self._grids:
            self._grids[key] = grids(height, width, self.strides)
        return self._grids[key]

    def rows(self, height: int, width: int) -> int:
        """Output rows the model gives for a *height* x *width* input."""
        return sum((height // s) * (width // s) for s in self.strides)

    def decode(self, out: Array, threshold: float, hw: tuple[int, int] | None = None) -> Array:
        """Person boxes above *threshold*, for an input of *hw* (height, width; default the
        square model size)."""
        h, w = hw if hw is not None else (self.size, self.size)
        grid, stride = self.grids_for(h, w)
        rows = out.reshape(-1, out.shape[-1])
        if rows.shape[0] != grid.shape[0]:
            raise ValueError(
                f"YOLOX output has {rows.shape[0]} rows, expected {grid.shape[0]} for {w}x{h} input"
            )
        score = rows[:, 4] * rows[:, 5 + PERSON]
        keep = score >= threshold
        if not keep.any():
            return np.zeros((0, 5), np.float32)
        r, g, s = rows[keep], grid[keep], stride[keep]
        xy = (r[:, :2] + g) * s
        wh = np.exp(np.clip(r[:, 2:4], -10, 10)) * s
        return np.concatenate([xy - wh / 2, xy + wh / 2, score[keep, None]], axis=1)


class YoloV8Head:
    """Ultralytics YOLOv8/YOLO11 export: (1, 4 + classes, N) with centre boxes in input
    pixels and class scores (sigmoid applied, no objectness)."""

    def decode(self, out: Array, threshold: float) -> Array:
        """Person boxes above *threshold*."""
        rows = out.reshape(out.shape[-2], out.shape[-1]).T  # (N, 4 + classes)
        score = rows[:, 4 + PERSON]
        keep = score >= threshold
        if not keep.any():
            return np.zeros((0, 5), np.float32)
        r = rows[keep]
        xy, wh = r[:, :2], r[:, 2:4]
        return np.concatenate([xy - wh / 2, xy + wh / 2, score[keep, None]], axis=1)


class FastestDetHead:
    """FastestDet: (1, 85, H, W): objectness, centre offsets (tanh), size relative to the
    image (sigmoid), class scores; score = obj^0.6 * cls^0.4."""

    def __init__(self, size: int) -> None:
        self.size = size

    def decode(self, out: Array, threshold: float) -> Array:
        """Person boxes above *threshold*."""
        _, _, gh, gw = out.shape
        o = out[0]
        score = np.power(np.clip(o[0], 0, 1), 0.6) * np.power(np.clip(o[5 + PERSON], 0, 1), 0.4)
        ys, xs = np.nonzero(score >= threshold)
        if ys.size == 0:
            return np.zeros((0, 5), np.float32)
        cx = (xs + np.tanh(o[1, ys, xs])) / gw
        cy = (ys + np.tanh(o[2, ys, xs])) / gh
        w = 1 / (1 + np.exp(-o[3, ys, xs]))
        h = 1 / (1 + np.exp(-o[4, ys, xs]))
        s = self.size
        boxes = np.stack(
            [(cx - w / 2) * s, (cy - h / 2) * s, (cx + w / 2) * s, (cy + h / 2) * s, score[ys, xs]],
            axis=1,
        )
        return boxes.astype(np.float32)


def nms(boxes: Array, iou_threshold: float) -> Array:
    """Greedy non-maximum suppression over ``(x1, y1, x2, y2, score)`` rows."""
    if boxes.shape[0] <= 1:
        return boxes
    order = np.argsort(-boxes[:, 4])
    b = boxes[order]
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = np.maximum(0, x2 - x1) * np.maximum(0, y2 - y1)
    keep: list[int] = []
    alive = np.ones(len(b), bool)
    for i in range(len(b)):
        if not alive[i]:
            continue
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[i + 1 :])
        yy1 = np.maximum(y1[i], y1[i + 1 :])
        xx2 = np.minimum(x2[i], x2[i + 1 :])
        yy2 = np.minimum(y2[i], y2[i + 1 :])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        iou = inter / np.maximum(areas[i] + areas[i + 1 :] - inter, 1e-9)
        alive[i + 1 :] &= iou < iou_threshold
    return b[keep]
