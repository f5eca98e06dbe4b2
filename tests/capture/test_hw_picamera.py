"""libcamera (picamera2) and Jetson failures, which cannot happen on this machine, driven
through the real backends' interfaces: the fake picamera2 raises what picamera2 raises (its
types, its wording, the cause chained inside "Camera __init__ sequence did not complete."),
the Jetson input gets a capture of OpenCV's shape that refuses or stops. Each becomes one
:class:`HardwareError` naming the problem, the camera, ``cameras[N]``, the device and the hint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from timing import wait_until

from edge.capture.base import Failure
from edge.capture.frame import Frame, Item, Role
from edge.capture.hwerrors import HardwareError
from edge.capture.jetson import JetsonInput
from edge.capture.picamera import PiCameraInput
from edge.config.cameras import JetsonSourceConfig, PicameraSourceConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.fakes.picamera2 import Fail, fake_picamera2
from edge.node.camera import CameraWorker
from edge.node.cameras import plan_cameras

pytestmark = pytest.mark.faults

KEY = "camera 'pi' (cameras[2])"
VIDEO = "car-detection.mp4"


def _pi(module: SimpleNamespace | None, camera_num: int = 0) -> PiCameraInput:
    """A Pi camera input (small sizes) on *module* (None: the real picamera2)."""
    cfg = PicameraSourceConfig(
        kind="picamera",
        camera_num=camera_num,
        width=640,
        height=360,
        lores_width=320,
        lores_height=180,
        fps=30,
    )
    return PiCameraInput("pi", cfg, roles=Role.DETECT | Role.RECORD, module=module, key=KEY)


def _raised(inp: Any, got: list[Item] | None = None) -> HardwareError:
    """The HardwareError the input's stream raises (what it yielded first goes to *got*)."""
    with pytest.raises(HardwareError) as info:
        for item in inp.stream():
            if got is not None:
                got.append(item)
    return info.value


def _names_all(err: HardwareError, device: str, problem: str, hint: str) -> None:
    """The message names the camera, its config key, the device, the problem and the hint."""
    text = str(err)
    assert text.startswith(f"{KEY}: {device}: {problem}"), text
    assert hint in text, text


def test_picamera2_not_installed() -> None:
    """Off a Pi the real picamera2 cannot be imported: how to install it, for this camera."""
    err = _raised(_pi(None, camera_num=1))
    _names_all(
        err,
        "libcamera camera 1",
        "picamera2 is not installed",
        "install python3-picamera2 with apt and create the venv with --system-site-packages",
    )
    assert err.reason is Failure.OPEN


@pytest.mark.parametrize(
    ("cameras", "camera_num", "fail", "problem", "hint", "cause"),
    [
        (0, 0, None, "libcamera found no camera at all", "camera_auto_detect=1", "not found"),
        (1, 1, None, "libcamera found no camera 1", "--list-cameras", "IndexError"),
        (1, 0, "busy", "camera busy", "another program holds it", "Device or resource busy"),
    ],
    ids=["no-camera", "index-past-the-cameras", "busy"],
)
def test_picamera_open_failures(
    cameras: int,
    camera_num: int,
    fail: Fail | None,
    problem: str,
    hint: str,
    cause: str,
    videos: Path,
) -> None:
    """Picamera2(n) fails as picamera2 does (RuntimeError "Camera __init__ sequence did not
    complete.", the cause chained): the cause is read and named, the wrapper kept."""
    module = fake_picamera2(videos / VIDEO, cameras=cameras, fail=fail)
    err = _raised(_pi(module, camera_num))
    _names_all(err, f"libcamera camera {camera_num}", problem, hint)
    assert "Camera __init__ sequence did not complete." in str(err) and cause in str(err)
    assert err.reason is Failure.OPEN


@pytest.mark.parametrize(
    ("fail", "problem", "hint"),
    [
        ("configure", "the camera refused 640x360 with lores 320x180 at 30 fps", "sensor modes"),
        ("encoder", "the hardware H.264 encoder cannot be used", "/dev/video11"),
        ("start", "the camera did not start", "ribbon cable"),
    ],
)
def test_picamera_configure_and_start_failures(
    fail: Fail, problem: str, hint: str, videos: Path
) -> None:
    """configure() or start() raising RuntimeError, or the encoder's device missing, is a
    refused mode, an unusable encoder or a camera that does not start."""
    module = fake_picamera2(videos / VIDEO, fail=fail)
    err = _raised(_pi(module))
    _names_all(err, "libcamera camera 0", problem, hint)
    assert err.reason is Failure.OPEN


def test_picamera_unplugged_mid_stream(videos: Path) -> None:
    """A camera that stops mid-stream (the fake raises as a pulled cable does) ends the session
    with read_failed, after what it delivered."""
    module = fake_picamera2(videos / VIDEO, fail_after=3)
    got: list[Item] = []
    err = _raised(_pi(module), got)
    _names_all(err, "libcamera camera 0", "camera stopped delivering mid-stream", "ribbon cable")
    assert err.reason is Failure.READ
    assert any(isinstance(i, Frame) for i in got)


def test_node_reports_a_missing_pi_camera(videos: Path) -> None:
    """In the node, a Pi camera libcamera cannot find is one camera_fault (open_failed)
    naming cameras[0] and the camera, and it is retried."""
    cfg = loads("""
[node]
id = "n"
site = "s"
[[cameras]]
name = "pi"
detect = { kind = "picamera" }
detection = { tracker = "iou" }
""")
    module = fake_picamera2(videos / VIDEO, cameras=0)
    planned = plan_cameras(cfg.cameras, record=False, picamera2=module).running[0]
    events: list[Event] = []
    worker = CameraWorker(planned.cfg, planned.inputs, EventFactory("n", "s"), events.append)
    worker.start()
    try:
        assert wait_until(lambda: any(e.kind == "camera_fault" for e in events), 10)
        fault = next(e for e in events if e.kind == "camera_fault")
        assert fault.data["reason"] == "open_failed"
        assert str(fault.data["error"]).startswith(
            "camera 'pi' (cameras[0]): libcamera camera 0: libcamera found no camera at all"
        )
    finally:
        worker.stop()
        assert worker.join(10)


class _Capture:
    """Shaped like cv2.VideoCapture over a GStreamer pipeline: opens or not, then delivers
    *frames* frames and stops (Argus gone)."""

    def __init__(self, opened: bool, frames: int) -> None:
        self.opened, self.frames, self.released = opened, frames, False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((540, 960, 3), np.uint8)

    def release(self) -> None:
        self.released = True


def _jetson(capture: _Capture | None, error: str | None = None) -> JetsonInput:
    """A Jetson input whose pipeline opens as *capture*, or raises cv2.error(*error*)."""

    def factory(pipeline: str, api: int) -> _Capture:
        if error is not None:
            raise cv2.error(error)
        assert capture is not None
        return capture

    cfg = JetsonSourceConfig(kind="jetson", sensor_id=1)
    return JetsonInput("pi", cfg, roles=Role.DETECT, capture_factory=factory, key=KEY)


def test_jetson_pipeline_that_does_not_open() -> None:
    """No camera on the sensor-id, or the Argus daemon down: the pipeline does not open; the
    message names the sensor, the mode and what to check, and the capture is released."""
    cap = _Capture(opened=False, frames=0)
    err = _raised(_jetson(cap))
    _names_all(
        err,
        "nvarguscamerasrc sensor-id=1",
        "cannot open the camera for 1920x1080 at 30 fps",
        "sudo systemctl restart nvargus-daemon",
    )
    assert "pipeline: nvarguscamerasrc" in str(err) and cap.released


def test_jetson_opencv_error_at_open() -> None:
    """OpenCV raising while it builds the pipeline is the same open failure, its text kept."""
    err = _raised(_jetson(None, error="GStreamer: unable to start pipeline"))
    _names_all(err, "nvarguscamerasrc sensor-id=1", "cannot open the camera", "nvargus-daemon")
    assert "unable to start pipeline" in str(err)


def test_jetson_pipeline_that_opens_but_delivers_nothing() -> None:
    """A pipeline that opens but never delivers (Argus finds no sensor there) is an open
    failure with the same hint, not a camera that stopped."""
    err = _raised(_jetson(_Capture(opened=True, frames=0)))
    _names_all(err, "nvarguscamerasrc sensor-id=1", "cannot open the camera", "nvargus-daemon")
    assert "no frame came" in str(err) and err.reason is Failure.OPEN


def test_jetson_stops_mid_stream() -> None:
    """A pipeline that stops delivering is read_failed, naming the sensor and the count."""
    cap = _Capture(opened=True, frames=4)
    got: list[Item] = []
    err = _raised(_jetson(cap), got)
    _names_all(
        err,
        "nvarguscamerasrc sensor-id=1",
        "camera stopped delivering mid-stream (after 4 frames)",
        "journalctl -u nvargus-daemon",
    )
    assert err.reason is Failure.READ and cap.released and len(got) == 4
