"""``edge snapshot``: one current frame of a camera as it is shared, with what is hidden drawn
on it, so a technician sees at install time exactly what is watched and what is not."""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from edge.capture.base import SourceError
from edge.capture.factory import build_input
from edge.capture.frame import Frame, Image, Role
from edge.capture.privacy import MaskSpec
from edge.config.cameras import CameraConfig
from edge.core.errors import CaptureError

HIDDEN = (0, 0, 255)  # red, BGR


class SnapshotError(CaptureError):
    """No frame could be taken; the message says why."""


def grab(cam: CameraConfig, timeout: float = 20.0, *, picamera2: Any = None) -> Frame:
    """The first analysis frame of *cam*'s detect input, privacy mask applied. Raises
    :class:`SnapshotError` (an input that fails included) or ``PrivacyError``."""
    if cam.private:
        raise SnapshotError(f"camera {cam.name!r} is private: it is never opened")
    inp = build_input(cam, cam.detect, Role.DETECT, picamera2=picamera2)
    deadline = time.monotonic() + timeout
    try:
        for item in inp.stream():
            if isinstance(item, Frame) and Role.DETECT in item.roles:
                return item
            if time.monotonic() > deadline:
                break
    except SourceError as e:  # its message is already redacted
        raise SnapshotError(str(e)) from None
    finally:
        inp.close()
    raise SnapshotError(f"camera {cam.name!r}: no frame within {timeout:g} s")


def draw_overlay(image: Image, cam: CameraConfig) -> Image:
    """A copy of *image* with each privacy mask outlined, hatched and named."""
    out = image.copy()
    spec = MaskSpec.from_config(cam)
    if spec is None:
        return out
    h, w = out.shape[:2]
    mw, mh = spec.resolution
    sx, sy = w / mw, h / mh
    hatch = np.zeros((h, w), np.uint8)
    for k in range(-h, w, 14):
        cv2.line(hatch, (k, 0), (k + h, h), 255, 1)
    for name, pts in spec.polygons:
        poly = np.array([[round(x * sx), round(y * sy)] for x, y in pts], np.int32)
        inside = np.zeros((h, w), np.uint8)
        cv2.fillPoly(inside, [poly], 255)
        out[(inside > 0) & (hatch > 0)] = HIDDEN
        cv2.polylines(out, [poly], isClosed=True, color=HIDDEN, thickness=2)
        x, y = poly.min(axis=0)
        label = f"PRIVATE: {name}"
        cv2.putText(
            out,
            label,
            (int(x) + 4, int(y) + 18),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return out
