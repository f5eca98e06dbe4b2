"""V4L2 devices that cannot be used, through the real PyAV (FFmpeg v4l2 demuxer) call: a path
that does not exist, a regular file, /dev/null, a device node without permission, a device
node with no camera behind it. Each is one :class:`HardwareError` naming the problem, the
camera (name and ``cameras[N]``), the device and the technician's hint; in the node it is a
``camera_fault`` (``open_failed``) and the camera is retried."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import av
import pytest
import structlog
from timing import wait_until

from edge.capture.base import Failure, SourceError
from edge.capture.hwerrors import HardwareError, v4l2_open_error, v4l2_read_error
from edge.capture.v4l2 import V4l2Input
from edge.config.cameras import V4l2SourceConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker
from edge.node.cameras import plan_cameras

pytestmark = pytest.mark.faults

KEY = "camera 'usb' (cameras[1])"


def _input(device: Path | str) -> V4l2Input:
    """A V4L2 input on *device* (any path: the config's /dev pattern is bypassed on purpose)."""
    cfg = V4l2SourceConfig.model_construct(
        kind="v4l2", device=str(device), width=640, height=480, fps=10, input_format="mjpeg"
    )
    return V4l2Input("usb", cfg, key=KEY)


def _open_error(inp: V4l2Input) -> HardwareError:
    """The error the input's stream raises at open."""
    with pytest.raises(HardwareError) as info:
        list(inp.stream())
    assert info.value.reason is Failure.OPEN
    assert isinstance(info.value, SourceError)
    return info.value


def _names_all(err: HardwareError, device: Path | str, problem: str, hint: str) -> None:
    """The message names the camera, its config key, the device, the problem and the hint."""
    text = str(err)
    assert text.startswith(f"{KEY}: {device}: {problem}"), text
    assert hint in text, text
    assert err.key == KEY and err.device == str(device)


def test_missing_device(tmp_path: Path) -> None:
    """A device path that does not exist: 'no such device' and where to look for cameras."""
    dev = tmp_path / "video7"
    err = _open_error(_input(dev))
    _names_all(err, dev, "no such device", "ls -l /dev/v4l/by-id/")


def test_regular_file_is_not_a_device(tmp_path: Path) -> None:
    """A regular file where the device should be: not a V4L2 device, said before FFmpeg."""
    dev = tmp_path / "video0"
    dev.write_bytes(b"")
    err = _open_error(_input(dev))
    _names_all(err, dev, "not a V4L2 video device: it is a regular file", "v4l2-ctl")


def test_dev_null_is_not_a_v4l2_device() -> None:
    """/dev/null is a character device, but not a camera: FFmpeg's ioctl gets ENOTTY."""
    err = _open_error(_input("/dev/null"))
    _names_all(err, "/dev/null", "not a V4L2 video device", "v4l2-ctl --list-devices")
    assert "Errno 25" in str(err)


def _make_node(path: Path, mode: int) -> bool:
    """A character device node of the V4L2 major (81) at *path*; False where not allowed."""
    try:
        os.mknod(path, stat.S_IFCHR | mode, os.makedev(81, 0))
    except PermissionError:
        return False
    return True


def test_device_node_without_a_camera(tmp_path: Path) -> None:
    """A real V4L2 device node (major 81) with no driver behind it, as after an unplug: the
    kernel answers ENXIO and the message says to replug."""
    dev = tmp_path / "video0"
    if not _make_node(dev, 0o666):
        pytest.skip("this machine may not make device nodes (no CAP_MKNOD)")
    err = _open_error(_input(dev))
    _names_all(err, dev, "no camera behind the device node", "replug the camera")


_CAP_DAC = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


def _without_dac_override(call: Callable[[], object]) -> object:
    """Run *call* on a thread of its own with root's file-permission override dropped (Linux
    capabilities are per thread): a mode 000 node then refuses root as it refuses a user who
    is not in the video group. The thread ends after the call, the rest keep theirs."""
    libc = ctypes.CDLL(None, use_errno=True)
    out: list[object] = []

    def run() -> None:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = (ctypes.c_uint32 * 6)()
        assert libc.capget(header, data) == 0
        data[0] &= ~_CAP_DAC  # effective set only
        assert libc.capset(header, data) == 0, ctypes.get_errno()
        try:
            out.append(call())
        except BaseException as e:  # handed back to the test's thread
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def _caught(call: Callable[[], object]) -> object:
    """What *call* raised (or returned)."""
    try:
        return call()
    except Exception as e:
        return e


def test_device_without_permission(tmp_path: Path) -> None:
    """A device node with mode 000 (as for a user outside the video group): permission
    denied, through the real open, and the hint to add the user to the video group."""
    dev = tmp_path / "video0"
    if not _make_node(dev, 0o000):
        dev.write_bytes(b"")  # not root: a mode 000 file refuses the open just the same
        dev.chmod(0o000)
    inp = _input(dev)
    attempt = lambda: list(inp.stream())  # noqa: E731
    got = _without_dac_override(attempt) if os.geteuid() == 0 else _caught(attempt)
    assert isinstance(got, HardwareError), got
    _names_all(got, dev, "permission denied", "add the user the node runs as to the video group")
    assert "Errno 13" in str(got)


@pytest.mark.parametrize(
    ("code", "problem", "hint"),
    [
        (errno.EBUSY, "device busy", "fuser -v /dev/video0"),
        (errno.EINVAL, "the camera refused 640x480 at 10 fps in mjpeg", "--list-formats-ext"),
        (errno.ENOSPC, "not enough USB bandwidth", "input_format mjpeg"),
        (errno.EIO, "I/O error", "powered hub"),
    ],
)
def test_kernel_answers_that_need_a_camera(code: int, problem: str, hint: str) -> None:
    """What only a real camera can answer (busy, a refused mode, USB bandwidth, I/O), as
    FFmpeg raises it (PyAV's exception for that errno), is named with its hint."""
    with pytest.raises(av.FFmpegError) as raised:
        av.error.err_check(-code, "/dev/video0")
    err = v4l2_open_error(KEY, "/dev/video0", raised.value, "640x480 at 10 fps in mjpeg")
    _names_all(err, "/dev/video0", problem, hint)


def test_unplugged_mid_stream_is_a_read_failure() -> None:
    """A camera unplugged while streaming (FFmpeg's read gets ENODEV) is read_failed, says
    it was unplugged and after how many packets; the node reopens it."""
    with pytest.raises(av.FFmpegError) as raised:
        av.error.err_check(-errno.ENODEV, "/dev/video0")
    err = v4l2_read_error(KEY, "/dev/video0", raised.value, 120)
    assert err.reason is Failure.READ
    _names_all(err, "/dev/video0", "camera unplugged mid-stream (after 120 packets)", "plug it")


class _Unplugged:
    """A real container (a sample video) whose device goes away after *after* packets: its
    demux then raises what FFmpeg's v4l2 read raises on an unplug (ENODEV)."""

    def __init__(self, path: Path, after: int) -> None:
        self._c = av.open(str(path))
        self.streams = self._c.streams
        self._after = after

    def __enter__(self) -> _Unplugged:
        return self

    def __exit__(self, *exc: object) -> None:
        self._c.close()

    def demux(self, stream: object) -> Iterator[object]:
        for n, packet in enumerate(self._c.demux(stream)):
            if n == self._after:
                av.error.err_check(-errno.ENODEV, "/dev/video0")
            yield packet


class _UnpluggedInput(V4l2Input):
    """The real V4L2 input and decode loop, on a camera that is unplugged mid-stream."""

    def __init__(self, video: Path) -> None:
        super().__init__("usb", V4l2SourceConfig(kind="v4l2", device="/dev/video0"), key=KEY)
        self.video = video

    def _open(self) -> av.container.InputContainer:
        return cast(av.container.InputContainer, _Unplugged(self.video, after=30))


def test_unplugged_mid_stream_through_the_input(videos: Path) -> None:
    """Through the real input and decode loop: frames, then read_failed saying the camera
    was unplugged, with the packets read before."""
    got: list[object] = []
    with pytest.raises(HardwareError) as info:
        got.extend(_UnpluggedInput(videos / "car-detection.mp4").stream())
    err = info.value
    assert err.reason is Failure.READ and got
    _names_all(err, "/dev/video0", "camera unplugged mid-stream (after 30 packets)", "plug it")


class _ResizingCamera(V4l2Input):
    """A device node whose camera lacks the size asked and sends its nearest instead (what
    the V4L2 driver does: FFmpeg goes on at the size it gets); its picture is a sample video."""

    def __init__(self, video: Path) -> None:
        cfg = V4l2SourceConfig.model_construct(
            kind="v4l2", device="/dev/null", width=1920, height=1080, fps=15, input_format="mjpeg"
        )
        super().__init__("usb", cfg, key=KEY)
        self.video = video

    def _device(self) -> av.container.InputContainer:
        return av.open(str(self.video))


def test_a_size_the_camera_lacks_is_logged(videos: Path) -> None:
    """The camera delivers another size than configured: frames flow, and one warning names
    the camera, the device, both sizes and how to list the camera's modes."""
    inp = _ResizingCamera(videos / "car-detection.mp4")
    with structlog.testing.capture_logs() as logs:
        first = next(iter(inp.stream()), None)  # the stream is closed when dropped
    assert first is not None
    warned = [e for e in logs if e["event"] == "capture.v4l2_size_changed"]
    assert len(warned) == 1, logs
    w = warned[0]
    assert w["key"] == KEY and w["device"] == "/dev/null" and w["asked"] == "1920x1080"
    assert w["got"] != "1920x1080" and "--list-formats-ext" in w["hint"]


def test_node_reports_a_missing_device_as_a_camera_fault(tmp_path: Path) -> None:
    """In the node, a V4L2 camera whose device is missing raises one camera_fault
    (open_failed) naming cameras[1], the camera and the device, and is retried."""
    cfg = loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "yard"
detect = {{ kind = "file", path = "{tmp_path / "none.mp4"}" }}
[[cameras]]
name = "usb"
detect = {{ kind = "v4l2", device = "/dev/video63" }}
detection = {{ tracker = "iou" }}
""")
    plan = plan_cameras(cfg.cameras, record=False)
    planned = next(p for p in plan.running if p.cfg.name == "usb")
    events: list[Event] = []
    worker = CameraWorker(planned.cfg, planned.inputs, EventFactory("n", "s"), events.append)
    worker.start()
    try:
        assert wait_until(lambda: any(e.kind == "camera_fault" for e in events), 10)
        fault = next(e for e in events if e.kind == "camera_fault")
        assert fault.data["reason"] == "open_failed"
        assert str(fault.data["error"]).startswith(
            "camera 'usb' (cameras[1]): /dev/video63: no such device"
        )
        assert worker.join(0.2) is False, "the camera is retried, not given up"
    finally:
        worker.stop()
        assert worker.join(10)
