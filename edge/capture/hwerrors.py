"""Camera hardware errors (V4L2, libcamera through picamera2, a Jetson's Argus pipeline)
translated at the edge into :class:`HardwareError`, a :class:`SourceError` that names the
problem, the camera (its name and config key ``cameras[N]``), the device and the hint a
technician needs. Being a ``SourceError``, it flows into the node's usual fail path: the input
is reported (``camera_fault`` with ``data.reason``) and retried with backoff.

The messages are listed in docs/faults.md ("Camera hardware"); tests assert each one."""

from __future__ import annotations

import errno

from edge.capture.base import Failure, SourceError


class HardwareError(SourceError):
    """A camera device that cannot be opened or used; the message reads
    ``camera 'dock' (cameras[2]): /dev/video0: permission denied (...); hint``."""

    def __init__(
        self,
        key: str,
        device: str,
        problem: str,
        hint: str = "",
        *,
        cause: BaseException | str | None = None,
        reason: Failure = Failure.OPEN,
    ) -> None:
        self.key = key
        self.device = device
        self.problem = problem
        self.hint = hint
        self.cause = None if cause is None else _cause_text(cause)
        """The library's or the kernel's own words, as the message quotes them."""
        text = f"{key}: {device}: {problem}"
        if self.cause is not None:
            text += f" ({self.cause})"
        if hint:
            text += f"; {hint}"
        super().__init__(text, reason)


def camera_key(name: str, index: int | None = None) -> str:
    """How an error names a camera: ``camera 'dock' (cameras[2])``, or ``camera 'dock'`` when
    its place in the config is not known (a camera built outside the node)."""
    return f"camera {name!r}" if index is None else f"camera {name!r} (cameras[{index}])"


def _cause_text(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def error_number(exc: BaseException | None) -> int | None:
    """The errno an OS or FFmpeg error carries (FFmpeg's are negated errnos), else None."""
    code = getattr(exc, "errno", None)
    return abs(code) if isinstance(code, int) else None


# -- V4L2 ------------------------------------------------------------------------------------

_GROUP_HINT = (
    "add the user the node runs as to the video group (sudo usermod -aG video USER, then "
    "restart the service), or check the udev rule that sets the device's owner"
)

#: errno at open -> (problem, hint); DEV in a hint is replaced by the device path.
_V4L2_OPEN: dict[int, tuple[str, str]] = {
    errno.ENOENT: (
        "no such device",
        "is the camera plugged in? list the cameras with ls -l /dev/v4l/by-id/ (a by-id link "
        "disappears while its camera is unplugged)",
    ),
    errno.EACCES: ("permission denied", _GROUP_HINT),
    errno.EPERM: ("permission denied", _GROUP_HINT),
    errno.EBUSY: (
        "device busy",
        "another program holds the camera (a second node, a browser, a video call): find it "
        "with fuser -v DEV",
    ),
    errno.ENOTTY: (
        "not a V4L2 video device",
        "set device to a camera's capture node: v4l2-ctl --list-devices lists them (a UVC "
        "camera's second node carries metadata only)",
    ),
    errno.ENODEV: (
        "no camera behind the device node: unplugged, or its driver is not loaded",
        "replug the camera; dmesg shows why its USB device went away",
    ),
    errno.ENXIO: (
        "no camera behind the device node: unplugged, or its driver is not loaded",
        "replug the camera; dmesg shows why its USB device went away",
    ),
    errno.EIO: (
        "I/O error",
        "a USB cable, port or power fault: check dmesg, try another port or a powered hub",
    ),
    errno.ENOSPC: (
        "not enough USB bandwidth",
        "too many cameras on one USB controller: use input_format mjpeg, a lower size or fps, "
        "or another USB port",
    ),
    errno.EISDIR: ("a directory, not a device node", "set device to a /dev/videoN node"),
}

_V4L2_FORMAT_HINT = (
    "list the modes it supports with v4l2-ctl -d DEV --list-formats-ext and set width, "
    "height, fps and input_format to one of them"
)


def v4l2_open_error(
    key: str, device: str, exc: BaseException, mode: str, *, reason: Failure = Failure.OPEN
) -> HardwareError:
    """The error for a V4L2 device that failed to open; *mode* is what was asked
    (``640x480 at 10 fps, mjpeg``), named when the camera refuses it (EINVAL)."""
    code = error_number(exc)
    if code == errno.EINVAL:
        problem = f"the camera refused {mode}"
        return HardwareError(
            key, device, problem, _V4L2_FORMAT_HINT.replace("DEV", device), cause=exc
        )
    problem, hint = _V4L2_OPEN.get(code or 0, ("cannot open", ""))
    return HardwareError(
        key, device, problem, hint.replace("DEV", device), cause=exc, reason=reason
    )


def v4l2_not_a_device(key: str, device: str, what: str) -> HardwareError:
    """The error for a V4L2 path that exists but is no character device (*what* it is)."""
    problem, hint = _V4L2_OPEN[errno.ENOTTY]
    return HardwareError(key, device, f"{problem}: it is {what}", hint)


def v4l2_read_error(key: str, device: str, exc: BaseException, packets: int) -> HardwareError:
    """The error for a V4L2 camera that stopped mid-stream after *packets* packets."""
    code = error_number(exc)
    if code in (errno.ENODEV, errno.ENXIO, errno.ENOENT):
        problem = f"camera unplugged mid-stream (after {packets} packets)"
        hint = "plug it back in: the node reopens it"
    else:
        problem = f"read failed mid-stream (after {packets} packets)"
        hint = _V4L2_OPEN.get(code or 0, ("", "check dmesg for the camera's USB errors"))[1]
    return HardwareError(key, device, problem, hint, cause=exc, reason=Failure.READ)


# -- libcamera (picamera2) -------------------------------------------------------------------

_LIST_CAMERAS = "rpicam-hello --list-cameras (libcamera-hello on older releases)"


def picamera_device(camera_num: int) -> str:
    """How a Raspberry Pi camera is named as a device."""
    return f"libcamera camera {camera_num}"


def picamera_missing(key: str, camera_num: int, exc: BaseException) -> HardwareError:
    """picamera2 cannot be imported (not a Pi, or the venv cannot see the system package)."""
    return HardwareError(
        key,
        picamera_device(camera_num),
        "picamera2 is not installed or not importable",
        "on Raspberry Pi OS install python3-picamera2 with apt and create the venv with "
        "--system-site-packages",
        cause=exc,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def picamera_open_error(key: str, camera_num: int, exc: BaseException) -> HardwareError:
    """``Picamera2(n)`` failed. picamera2 wraps what went wrong in ``RuntimeError("Camera
    __init__ sequence did not complete.")``; the cause (no camera at all, an index past the
    cameras found, the camera held by another process) is read from the chained errors."""
    device = picamera_device(camera_num)
    chain = _chain(exc)
    texts = " | ".join(str(e) for e in chain).lower()
    if any(isinstance(e, IndexError) for e in chain):
        problem = f"libcamera found no camera {camera_num}"
        hint = f"check the ribbon cable and camera_num; {_LIST_CAMERAS} lists the cameras"
    elif "not found" in texts:
        problem = "libcamera found no camera at all"
        hint = (
            "check the ribbon cable (contacts facing the right way, seated at both ends) and "
            f"camera_auto_detect=1 in /boot/firmware/config.txt; {_LIST_CAMERAS} lists the "
            "cameras"
        )
    elif "busy" in texts or "in use" in texts or any(error_number(e) == errno.EBUSY for e in chain):
        problem = "camera busy"
        hint = "another program holds it (rpicam-vid, a second node): stop it"
    else:
        problem = "libcamera could not open the camera"
        hint = f"check the ribbon cable; {_LIST_CAMERAS} lists the cameras and their errors"
    detail = " <- ".join(_cause_text(e) for e in chain)
    return HardwareError(key, device, problem, hint, cause=detail)


def picamera_setup_error(
    key: str, camera_num: int, step: str, mode: str, exc: BaseException
) -> HardwareError:
    """*step* (``configure``, ``encoder`` or ``start``) failed: the mode asked for (*mode*)
    refused, the hardware H.264 encoder unusable, or a camera that does not start."""
    device = picamera_device(camera_num)
    if step == "encoder":
        problem = "the hardware H.264 encoder cannot be used"
        hint = (
            "it is /dev/video11 (a Raspberry Pi 5 has none): it must exist and the node's user "
            "be in the video group"
        )
    elif step == "configure" and "allocate" in str(exc).lower():
        problem = "no memory for the frame buffers"
        hint = "raise the CMA memory (dtoverlay=vc4-kms-v3d,cma-512) or lower width and height"
    elif step == "configure":
        problem = f"the camera refused {mode}"
        hint = (
            f"{_LIST_CAMERAS} lists its sensor modes: set width, height, lores and fps to one "
            "it supports"
        )
    else:
        problem = "the camera did not start"
        hint = "check the ribbon cable; dmesg shows the sensor's errors"
    return HardwareError(key, device, problem, hint, cause=exc)


def picamera_read_error(
    key: str, camera_num: int, exc: BaseException, frames: int
) -> HardwareError:
    """The camera stopped delivering mid-stream (*frames* captured): a cable pulled, or a
    frontend timeout."""
    return HardwareError(
        key,
        picamera_device(camera_num),
        f"camera stopped delivering mid-stream (after {frames} frames)",
        "check the ribbon cable and its power; dmesg shows the sensor's errors",
        cause=exc,
        reason=Failure.READ,
    )


# -- Jetson (Argus through GStreamer) --------------------------------------------------------


def jetson_device(sensor_id: int) -> str:
    """How a Jetson CSI camera is named as a device."""
    return f"nvarguscamerasrc sensor-id={sensor_id}"


def jetson_no_gstreamer(key: str, sensor_id: int) -> HardwareError:
    """This OpenCV cannot run GStreamer pipelines (a pip wheel, not JetPack's)."""
    return HardwareError(
        key,
        jetson_device(sensor_id),
        "this OpenCV has no GStreamer support",
        "Jetson cameras need JetPack's OpenCV: create the venv with --system-site-packages",
    )


def jetson_open_error(
    key: str, sensor_id: int, mode: str, cause: BaseException | str | None = None
) -> HardwareError:
    """The pipeline did not open (no camera on that sensor-id, the Argus daemon down, a sensor
    mode it lacks)."""
    return HardwareError(
        key,
        jetson_device(sensor_id),
        f"cannot open the camera for {mode}",
        "check the CSI cable and sensor_id (ls /dev/video*), restart the Argus daemon (sudo "
        "systemctl restart nvargus-daemon), and that the sensor has this mode (v4l2-ctl "
        "--list-formats-ext)",
        cause=cause,
    )


def jetson_read_error(key: str, sensor_id: int, frames: int) -> HardwareError:
    """The pipeline stopped delivering mid-stream (*frames* read)."""
    return HardwareError(
        key,
        jetson_device(sensor_id),
        f"camera stopped delivering mid-stream (after {frames} frames)",
        "check the CSI cable; journalctl -u nvargus-daemon shows the Argus errors",
        reason=Failure.READ,
    )
