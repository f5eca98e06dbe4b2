"""The Raspberry Pi camera through picamera2.

The lores stream (YUV420) is analysed; the hardware H.264 encoder's output of the main stream
is passed on as packets for clips. A masked camera never starts the encoder: its record role
yields masked main-stream frames instead. picamera2 cannot be imported off a Pi, so the module
is injected (the real one by default, ``edge.fakes.picamera2`` in tests).
"""

from __future__ import annotations

import importlib
import queue
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from types import SimpleNamespace
from typing import Any, cast

import cv2

from edge.capture.base import SourceError
from edge.capture.frame import Frame, Image, Item, Packet, Role, StreamInfo
from edge.capture.hwerrors import (
    camera_key,
    picamera_missing,
    picamera_open_error,
    picamera_read_error,
    picamera_setup_error,
)
from edge.capture.privacy import MaskSpec, PrivacyFilter
from edge.capture.session import log_connected
from edge.capture.timing import Sampler
from edge.config.cameras import PicameraSourceConfig
from edge.core.logs import get_logger

log = get_logger(__name__)

#: Seconds to wait for a frame before the camera counts as stopped (a pulled cable).
READ_TIMEOUT_S = 5.0


def load_picamera2(key: str = "camera", camera_num: int = 0) -> Any:
    """The real picamera2 package (with its encoders and outputs) as one namespace; a
    :class:`~edge.capture.hwerrors.HardwareError` naming *key* and the camera when it cannot
    be imported."""
    try:
        base = importlib.import_module("picamera2")
        encoders = importlib.import_module("picamera2.encoders")
        outputs = importlib.import_module("picamera2.outputs")
    except ImportError as e:
        raise picamera_missing(key, camera_num, e) from e
    return SimpleNamespace(Picamera2=base.Picamera2, encoders=encoders, outputs=outputs)


def _output_class(base: type) -> type:
    class PacketOutput(base):  # type: ignore[misc]
        """Receives encoded frames from picamera2's encoder thread."""

        def __init__(self, sink: queue.SimpleQueue[tuple[bytes, bool, int | None]]) -> None:
            super().__init__()
            self._sink = sink

        def outputframe(
            self,
            frame: bytes,
            keyframe: bool = True,
            timestamp: int | None = None,
            packet: Any = None,
            audio: bool = False,
        ) -> None:
            if not audio:
                self._sink.put((bytes(frame), bool(keyframe), timestamp))

    return PacketOutput


def _to_bgr(yuv420: Any, width: int) -> Image:
    bgr = cv2.cvtColor(yuv420, cv2.COLOR_YUV2BGR_I420)
    return cast(Image, bgr[:, :width].copy() if bgr.shape[1] != width else bgr)


class PiCameraInput:
    """One Raspberry Pi camera serving detect (lores) and record (encoder) roles."""

    live = True
    endless = True

    def __init__(
        self,
        camera: str,
        cfg: PicameraSourceConfig,
        *,
        roles: Role = Role.DETECT | Role.RECORD,
        analysis_fps: float | None = None,
        mask: MaskSpec | None = None,
        module: Any = None,
        key: str | None = None,
    ) -> None:
        self.camera = camera
        self.key = key or camera_key(camera)
        """How errors name this camera (``camera 'pi' (cameras[0])``)."""
        self.cfg = cfg
        self.roles = roles
        self.analysis_fps = analysis_fps
        self._filter = PrivacyFilter(mask) if mask is not None else None
        self._module = module
        self._closed = threading.Event()
        self.frames_captured = 0
        self.session = 0
        """The current (last) session's number (``Frame.session``); 0 before the first."""

    def close(self) -> None:
        """End the session at the next frame."""
        self._closed.set()

    def mode(self) -> str:
        """The mode asked of the camera, as errors name it."""
        c = self.cfg
        return f"{c.width}x{c.height} with lores {c.lores_width}x{c.lores_height} at {c.fps:g} fps"

    def stream(self) -> Iterator[Item]:
        """Configure the camera, start the encoder where packets may pass, yield until closed."""
        self._closed.clear()
        mod = self._module or load_picamera2(self.key, self.cfg.camera_num)
        c = self.cfg
        want_detect = Role.DETECT in self.roles
        record = Role.RECORD in self.roles
        want_packets = record and self._filter is None
        record_frames = record and not want_packets
        try:
            cam = mod.Picamera2(c.camera_num)
        except Exception as e:  # RuntimeError (its cause chained), or IndexError: no camera
            raise picamera_open_error(self.key, c.camera_num, e) from e
        packets: queue.SimpleQueue[tuple[bytes, bool, int | None]] = queue.SimpleQueue()
        encoding = False
        step = "configure"  # what is being done: configure, encoder, start, then read
        try:
            config = cam.create_video_configuration(
                main={"size": (c.width, c.height), "format": "YUV420"},
                lores={"size": (c.lores_width, c.lores_height), "format": "YUV420"},
                controls={"FrameRate": c.fps},
            )
            cam.configure(config)
            if want_packets:
                step = "encoder"
                encoder = mod.encoders.H264Encoder(
                    bitrate=c.bitrate, repeat=True, iperiod=c.keyframe_interval
                )
                cam.start_encoder(encoder, _output_class(mod.outputs.Output)(packets), name="main")
                encoding = True
                yield StreamInfo(
                    self.camera,
                    "h264",
                    c.width,
                    c.height,
                    Fraction(1, 1_000_000),
                    c.fps,
                    None,
                    annexb=True,
                )
            step = "start"
            cam.start()
            step = "read"
            self.session += 1
            log_connected(
                self.camera,
                self.roles,
                session=self.session,
                codec="h264" if want_packets else None,
                width=c.width,
                height=c.height,
                fps=c.fps,
                source=f"picamera2 {c.camera_num}",
            )
            yield from self._loop(cam, packets, want_detect, record_frames)
        except SourceError:
            raise
        except (RuntimeError, OSError, ValueError) as e:
            if step != "read":  # configure, the encoder or start refused
                raise picamera_setup_error(self.key, c.camera_num, step, self.mode(), e) from e
            raise picamera_read_error(self.key, c.camera_num, e, self.frames_captured) from e
        finally:
            try:
                if encoding:
                    cam.stop_encoder()
                cam.stop()
            finally:
                cam.close()

    def _loop(
        self,
        cam: Any,
        packets: queue.SimpleQueue[tuple[bytes, bool, int | None]],
        want_detect: bool,
        record_frames: bool,
    ) -> Iterator[Item]:
        sampler = Sampler(self.analysis_fps)
        first_ns: int | None = None
        first_us: int | None = None
        seq = 0
        while not self._closed.is_set():
            request = cam.capture_request(wait=READ_TIMEOUT_S)
            try:
                ts_ns = int(request.get_metadata().get("SensorTimestamp", time.monotonic_ns()))
                first_ns = ts_ns if first_ns is None else first_ns
                pts = (ts_ns - first_ns) / 1e9
                roles = Role.RECORD if record_frames else Role(0)
                if want_detect and sampler.due(pts):
                    roles |= Role.DETECT
                images: list[tuple[Role, Image]] = []
                if Role.DETECT in roles:
                    images.append(
                        (Role.DETECT, _to_bgr(request.make_array("lores"), self.cfg.lores_width))
                    )
                if record_frames:
                    images.append(
                        (Role.RECORD, _to_bgr(request.make_array("main"), self.cfg.width))
                    )
            finally:
                request.release()
            self.frames_captured += 1
            while True:
                try:
                    data, key, ts_us = packets.get_nowait()
                except queue.Empty:
                    break
                ts_us = ts_us if ts_us is not None else time.monotonic_ns() // 1000
                first_us = ts_us if first_us is None else first_us
                yield Packet(
                    self.camera,
                    data,
                    (ts_us - first_us) / 1e6,
                    None,
                    key,
                    time.monotonic(),
                    time.time(),
                )
            for role, image in images:
                if self._filter is not None:
                    self._filter.apply(image)
                now_mono, now_wall = time.monotonic(), time.time()
                yield Frame(self.camera, seq, pts, now_mono, now_wall, image, role, self.session)
                seq += 1
