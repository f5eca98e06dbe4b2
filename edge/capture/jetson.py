"""Jetson CSI cameras: an OpenCV GStreamer pipeline from ``nvarguscamerasrc`` to ``appsink``.

The pipeline is built from config and checked; it can run only on a Jetson with NVIDIA's
GStreamer plugins and an OpenCV built with GStreamer (JetPack's), so elsewhere opening it fails
with a clear :class:`~edge.capture.hwerrors.HardwareError` naming the camera and its sensor.
There is no encoded record stream: the record role yields frames for the clip stage to encode.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import cv2

from edge.capture.frame import Frame, Image, Item, Role
from edge.capture.hwerrors import (
    camera_key,
    jetson_no_gstreamer,
    jetson_open_error,
    jetson_read_error,
)
from edge.capture.privacy import MaskSpec, PrivacyFilter
from edge.capture.session import log_connected
from edge.capture.timing import Sampler
from edge.config.cameras import JetsonSourceConfig

_ELEMENT = re.compile(r"^[a-z0-9/_-]+(\([A-Za-z:]+\))?([ ,][a-z0-9:_-]+=[A-Za-z0-9/._()-]+)*$")


def build_pipeline(cfg: JetsonSourceConfig) -> str:
    """The GStreamer launch line for *cfg*: NVMM NV12 capture, hardware scale/convert to
    BGRx, then BGR for OpenCV; the appsink drops stale frames instead of queueing them."""
    if cfg.out_width > cfg.width or cfg.out_height > cfg.height:
        raise ValueError(
            f"out_width x out_height ({cfg.out_width}x{cfg.out_height}) must not exceed the "
            f"sensor mode {cfg.width}x{cfg.height}"
        )
    if cfg.out_width % 2 or cfg.out_height % 2:
        raise ValueError("out_width and out_height must be even (NV12 chroma subsampling)")
    elements = [
        f"nvarguscamerasrc sensor-id={cfg.sensor_id}",
        f"video/x-raw(memory:NVMM),width={cfg.width},height={cfg.height},"
        f"framerate={cfg.fps}/1,format=NV12",
        f"nvvidconv flip-method={cfg.flip_method}",
        f"video/x-raw,width={cfg.out_width},height={cfg.out_height},format=BGRx",
        "videoconvert",
        "video/x-raw,format=BGR",
        "appsink drop=true max-buffers=2 sync=false",
    ]
    for e in elements:
        if not _ELEMENT.match(e):
            raise ValueError(f"malformed pipeline element: {e!r}")
    return " ! ".join(elements)


def opencv_has_gstreamer(build_info: str | None = None) -> bool:
    """True when this OpenCV was built with GStreamer support."""
    info = build_info if build_info is not None else cv2.getBuildInformation()
    m = re.search(r"GStreamer:\s*(\S+)", info)
    return bool(m and m.group(1).upper().startswith("YES"))


class JetsonInput:
    """A CSI camera on a Jetson, read with ``cv2.VideoCapture(pipeline, CAP_GSTREAMER)``."""

    live = True
    endless = True

    def __init__(
        self,
        camera: str,
        cfg: JetsonSourceConfig,
        *,
        roles: Role = Role.DETECT,
        analysis_fps: float | None = None,
        mask: MaskSpec | None = None,
        capture_factory: Any = None,
        key: str | None = None,
    ) -> None:
        self.camera = camera
        self.key = key or camera_key(camera)
        """How errors name this camera (``camera 'csi' (cameras[0])``)."""
        self.cfg = cfg
        self.roles = roles
        self.analysis_fps = analysis_fps
        self.pipeline = build_pipeline(cfg)
        self._filter = PrivacyFilter(mask) if mask is not None else None
        self._capture_factory = capture_factory
        self._closed = threading.Event()
        self.session = 0
        """The current (last) session's number (``Frame.session``); 0 before the first."""

    def close(self) -> None:
        """End the session at the next frame."""
        self._closed.set()

    def stream(self) -> Iterator[Item]:
        """Open the pipeline and yield frames until it fails or ``close()``."""
        self._closed.clear()
        c = self.cfg
        if self._capture_factory is None and not opencv_has_gstreamer():
            raise jetson_no_gstreamer(self.key, c.sensor_id)
        factory = self._capture_factory or cv2.VideoCapture
        mode = f"{c.width}x{c.height} at {c.fps} fps"
        try:
            cap = factory(self.pipeline, cv2.CAP_GSTREAMER)
        except cv2.error as e:
            raise jetson_open_error(self.key, c.sensor_id, mode, e) from e
        if not cap.isOpened():
            cap.release()
            raise jetson_open_error(self.key, c.sensor_id, mode, f"pipeline: {self.pipeline}")
        self.session += 1
        log_connected(
            self.camera,
            self.roles,
            session=self.session,
            codec=None,
            width=self.cfg.out_width,
            height=self.cfg.out_height,
            fps=self.cfg.fps,
            source=f"nvarguscamerasrc sensor-id={self.cfg.sensor_id}",
        )
        sampler = Sampler(self.analysis_fps)
        start = time.monotonic()
        seq = reads = 0
        try:
            while not self._closed.is_set():
                ok, image = cap.read()
                if not ok:
                    if self._closed.is_set():
                        return
                    if reads == 0:  # Argus found no sensor there, or cannot run this mode
                        raise jetson_open_error(
                            self.key, c.sensor_id, mode, "the pipeline opened, no frame came"
                        )
                    # Argus stopped (a cable pulled, the daemon died): the worker reconnects
                    raise jetson_read_error(self.key, c.sensor_id, reads)
                reads += 1
                pts = time.monotonic() - start
                roles = Role.RECORD if Role.RECORD in self.roles else Role(0)
                if Role.DETECT in self.roles and sampler.due(pts):
                    roles |= Role.DETECT
                if not roles:
                    continue
                img = cast(Image, image)
                if self._filter is not None:
                    self._filter.apply(img)
                now_mono, now_wall = time.monotonic(), time.time()
                yield Frame(self.camera, seq, pts, now_mono, now_wall, img, roles, self.session)
                seq += 1
        finally:
            cap.release()
