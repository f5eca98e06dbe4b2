"""A stand-in for the picamera2 package with its API shape, fed from a video file.

``fake_picamera2(video)`` returns a namespace with ``Picamera2``, ``encoders.H264Encoder`` and
``outputs.Output`` like ``picamera2``, ``picamera2.encoders`` and ``picamera2.outputs``. The
camera plays the video in a loop at the configured ``FrameRate``, resized to the ``main`` and
``lores`` sizes as YUV420 (I420) arrays; a started encoder really encodes the main stream to
H.264 with libx264 (in-band SPS/PPS, fixed keyframe interval), as the Pi's hardware encoder
delivers it. Requests carry ``SensorTimestamp`` in nanoseconds.

Failures are raised as picamera2 raises them (its types and its wording): ``Picamera2(n)``
wraps what went wrong in ``RuntimeError("Camera __init__ sequence did not complete.")`` with the
cause as context (no camera at all, an ``IndexError`` for a number past the cameras found, the
camera held by another process); ``configure()`` and ``start()`` raise ``RuntimeError``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import av
import cv2
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.uint8]

Fail = Literal["busy", "configure", "encoder", "start"]
"""A failure the fake camera raises: held by another process at open, a mode refused by
``configure()``, no hardware H.264 encoder (picamera2 opens /dev/video11 for it: a Pi 5 has
none), or ``start()`` refused."""

_INIT_FAILED = "Camera __init__ sequence did not complete."


class Output:
    """Base class of encoder outputs (picamera2.outputs.Output)."""

    def __init__(self, pts: str | None = None) -> None:
        self.pts = pts
        self.recording = False

    def start(self) -> None:
        """Called when the encoder starts."""
        self.recording = True

    def stop(self) -> None:
        """Called when the encoder stops."""
        self.recording = False

    def outputframe(
        self,
        frame: bytes,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        """Receive one encoded frame."""


class H264Encoder:
    """picamera2.encoders.H264Encoder: bitrate, repeat (in-band headers), iperiod."""

    def __init__(
        self, bitrate: int | None = None, repeat: bool = False, iperiod: int | None = None
    ) -> None:
        self.bitrate = bitrate or 4_000_000
        self.repeat = repeat
        self.iperiod = iperiod or 30
        self._ctx: Any = None
        self.output: Output | None = None

    def _start(self, width: int, height: int, fps: float, output: Output) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 1_000_000)
        ctx.framerate = Fraction(fps).limit_denominator(1000)
        ctx.bit_rate = self.bitrate
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={self.iperiod}:min-keyint={self.iperiod}:scenecut=0:"
            f"bframes=0:repeat-headers={1 if self.repeat else 0}",
        }
        ctx.open()
        self._ctx = ctx
        self.output = output
        output.start()

    def _encode(self, yuv: Array, ts_us: int) -> None:
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = ts_us
        for pkt in self._ctx.encode(frame):
            assert self.output is not None
            self.output.outputframe(bytes(pkt), bool(pkt.is_keyframe), pkt.pts)

    def _stop(self) -> None:
        if self._ctx is not None:
            for pkt in self._ctx.encode(None):
                assert self.output is not None
                self.output.outputframe(bytes(pkt), bool(pkt.is_keyframe), pkt.pts)
            self._ctx = None
        if self.output is not None:
            self.output.stop()


class CompletedRequest:
    """One captured frame set: make_array(name), get_metadata(), release()."""

    def __init__(self, arrays: dict[str, Array], metadata: dict[str, Any]) -> None:
        self._arrays = arrays
        self._metadata = metadata
        self.released = False

    def make_array(self, name: str) -> Array:
        """The image of stream *name* ('main' or 'lores')."""
        if self.released:
            raise RuntimeError("request already released")
        return self._arrays[name].copy()

    def get_metadata(self) -> dict[str, Any]:
        """Per-frame metadata; SensorTimestamp is in nanoseconds."""
        return dict(self._metadata)

    def release(self) -> None:
        """Give the buffers back to the camera."""
        self.released = True


def _i420(bgr: Array, size: tuple[int, int]) -> Array:
    resized = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.cvtColor(resized, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


def _video_frames(path: Path) -> Iterator[Array]:
    while True:
        with av.open(str(path)) as container:
            count = 0
            for vf in container.decode(video=0):
                count += 1
                yield np.asarray(vf.to_ndarray(format="bgr24"), dtype=np.uint8)
            if count == 0:
                raise RuntimeError(f"fake camera: no frames in {path}")


def _acquire(path: Path, camera_num: int, cameras: int, fail: Fail | None) -> None:
    """What picamera2's open sequence raises before it wraps it."""
    if cameras == 0 or not path.is_file():
        raise RuntimeError(
            "Camera(s) not found (Do not forget to disable legacy camera with raspi-config)."
        )
    if camera_num >= cameras:
        raise IndexError("list index out of range")
    if fail == "busy":
        raise RuntimeError("Failed to acquire camera: Device or resource busy")


def fake_picamera2(
    video: str | Path,
    *,
    fail_after: int | None = None,
    cameras: int = 1,
    fail: Fail | None = None,
) -> SimpleNamespace:
    """A picamera2-shaped namespace whose cameras play *video*.

    ``fail_after``: the camera raises RuntimeError after that many frames, as a real one does
    when its cable is pulled. ``cameras``: how many cameras libcamera finds (0: none, and a
    camera number past them is an IndexError inside picamera2). ``fail``: see :data:`Fail`.
    """
    path = Path(video)

    class Picamera2:
        """picamera2.Picamera2 playing a file."""

        def __init__(self, camera_num: int = 0) -> None:
            try:
                _acquire(path, camera_num, cameras, fail)
            except Exception:
                raise RuntimeError(_INIT_FAILED)  # noqa: B904 - picamera2 raises it so
            self.camera_num = camera_num
            self.camera_properties = {"Model": "fake-imx708", "PixelArraySize": (4608, 2592)}
            self._config: dict[str, Any] | None = None
            self._encoder: H264Encoder | None = None
            self._cond = threading.Condition()
            self._latest: CompletedRequest | None = None
            self._sequence = 0
            self._taken = 0
            self._running = False
            self._thread: threading.Thread | None = None
            self.closed = False

        def create_video_configuration(
            self,
            main: dict[str, Any] | None = None,
            lores: dict[str, Any] | None = None,
            controls: dict[str, Any] | None = None,
            **_: Any,
        ) -> dict[str, Any]:
            """A video configuration dict like picamera2's."""
            return {
                "use_case": "video",
                "main": {"size": (1280, 720), "format": "XBGR8888", **(main or {})},
                "lores": dict(lores) if lores else None,
                "controls": {"FrameRate": 30.0, **(controls or {})},
            }

        def configure(self, config: dict[str, Any]) -> None:
            """Apply a configuration (before start)."""
            if self._running:
                raise RuntimeError("Camera must be stopped before configuring")
            if fail == "configure":
                raise RuntimeError(f"Configuration failed: {config}")
            self._config = config

        def start_encoder(
            self, encoder: H264Encoder, output: Output, name: str = "main", **_: Any
        ) -> None:
            """Encode stream *name* into *output* once the camera runs."""
            assert self._config is not None, "configure() first"
            if fail == "encoder":  # picamera2's V4L2Encoder opens the encoder's device
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/dev/video11")
            w, h = self._config[name]["size"]
            encoder._start(w, h, float(self._config["controls"]["FrameRate"]), output)
            self._encoder = encoder

        def stop_encoder(self) -> None:
            """Flush and stop the encoder."""
            with self._cond:
                if self._encoder is not None:
                    self._encoder._stop()
                    self._encoder = None

        def start(self) -> None:
            """Start streaming frames."""
            if self._config is None:
                raise RuntimeError("Camera has not been configured")
            if fail == "start":
                raise RuntimeError("Camera did not start properly.")
            self._running = True
            self._thread = threading.Thread(target=self._run, name="fake-picamera2", daemon=True)
            self._thread.start()

        def _run(self) -> None:
            cfg = self._config
            assert cfg is not None
            fps = float(cfg["controls"]["FrameRate"])
            main: tuple[int, int] = tuple(cfg["main"]["size"])
            lores: tuple[int, int] | None = (
                tuple(cfg["lores"]["size"]) if cfg.get("lores") else None
            )
            start = time.monotonic_ns()
            for n, bgr in enumerate(_video_frames(path)):
                due = start + int(n * 1e9 / fps)
                delay = (due - time.monotonic_ns()) / 1e9
                if delay > 0:
                    time.sleep(delay)
                if not self._running:
                    return
                arrays = {"main": _i420(bgr, main)}
                if lores:
                    arrays["lores"] = _i420(bgr, lores)
                with self._cond:
                    if fail_after is not None and n >= fail_after:
                        self._latest = None
                        self._running = False
                        self._cond.notify_all()
                        return
                    if self._encoder is not None:
                        self._encoder._encode(arrays["main"], due // 1000)
                    self._sequence += 1
                    self._latest = CompletedRequest(
                        arrays, {"SensorTimestamp": due, "FrameDuration": int(1e6 / fps)}
                    )
                    self._cond.notify_all()

        def capture_request(self, wait: float | None = 5.0) -> CompletedRequest:
            """The next frame set (blocks until it is captured)."""
            with self._cond:
                ok = self._cond.wait_for(
                    lambda: not self._running or self._sequence > self._taken, timeout=wait
                )
                if not self._running:
                    raise RuntimeError("camera stopped: device disconnected")
                if not ok or self._latest is None:
                    raise TimeoutError("camera frontend timeout")
                self._taken = self._sequence
                return self._latest

        def stop(self) -> None:
            """Stop streaming."""
            self._running = False
            with self._cond:
                self._cond.notify_all()
            if self._thread is not None:
                self._thread.join(5)

        def close(self) -> None:
            """Release the camera."""
            self.stop()
            self.closed = True

    return SimpleNamespace(
        Picamera2=Picamera2,
        encoders=SimpleNamespace(H264Encoder=H264Encoder),
        outputs=SimpleNamespace(Output=Output),
    )
