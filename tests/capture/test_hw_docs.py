"""docs/faults.md's "Camera hardware" table is what the code says: each row's message is
built by the translation in edge/capture/hwerrors.py (the library's own words shown as
``(…)``), in the same order, so the table cannot drift from the messages."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest

from edge.capture.hwerrors import (
    HardwareError,
    jetson_no_gstreamer,
    jetson_open_error,
    jetson_read_error,
    picamera_missing,
    picamera_open_error,
    picamera_read_error,
    picamera_setup_error,
    v4l2_not_a_device,
    v4l2_open_error,
    v4l2_read_error,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "faults.md"
USB, PI, CSI = "camera 'usb' (cameras[1])", "camera 'pi' (cameras[0])", "camera 'csi' (cameras[0])"
DEV = "/dev/video0"
MODE = "1280x720 at 15 fps in mjpeg"
PI_MODE = "1920x1080 with lores 640x360 at 15 fps"


def _os(code: int) -> OSError:
    """The kernel's answer *code* on the device, as Python raises it."""
    return OSError(code, os.strerror(code), DEV)


def _wrapped(cause: BaseException) -> RuntimeError:
    """picamera2's RuntimeError with *cause* as its context, as Picamera2(n) raises it."""
    try:
        raise cause
    except BaseException:
        try:
            raise RuntimeError("Camera __init__ sequence did not complete.")
        except RuntimeError as e:
            return e


def _setup(step: str, exc: BaseException) -> HardwareError:
    """The Pi camera's error when *step* raises *exc*."""
    return picamera_setup_error(PI, 0, step, PI_MODE, exc)


def _cases() -> list[tuple[str, HardwareError]]:
    """(reason, error) per documented row, in the table's order."""
    busy = RuntimeError("Failed to acquire camera: Device or resource busy")
    return [
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.ENOENT), MODE)),
        ("open_failed", v4l2_not_a_device(USB, DEV, "a regular file")),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.ENOTTY), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.EACCES), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.EBUSY), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.EINVAL), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.ENXIO), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.ENOSPC), MODE)),
        ("open_failed", v4l2_open_error(USB, DEV, _os(errno.EIO), MODE)),
        ("read_failed", v4l2_read_error(USB, DEV, _os(errno.ENODEV), 120)),
        ("open_failed", picamera_missing(PI, 0, ImportError("No module named 'picamera2'"))),
        ("open_failed", picamera_open_error(PI, 0, _wrapped(RuntimeError("Camera(s) not found")))),
        (
            "open_failed",
            picamera_open_error(PI, 1, _wrapped(IndexError("list index out of range"))),
        ),
        ("open_failed", picamera_open_error(PI, 0, _wrapped(busy))),
        ("open_failed", _setup("configure", RuntimeError("Configuration failed"))),
        ("open_failed", _setup("encoder", FileNotFoundError(2, "No such file", "/dev/video11"))),
        ("open_failed", _setup("start", RuntimeError("Camera did not start properly."))),
        ("read_failed", picamera_read_error(PI, 0, TimeoutError("timed out"), 300)),
        ("open_failed", jetson_no_gstreamer(CSI, 0)),
        ("open_failed", jetson_open_error(CSI, 0, "1920x1080 at 30 fps", "pipeline: ...")),
        ("read_failed", jetson_read_error(CSI, 0, 300)),
    ]


def _documented(err: HardwareError) -> str:
    """The message as the docs show it: the library's own words as (…)."""
    text = str(err)
    return text if err.cause is None else text.replace(f" ({err.cause})", " (…)", 1)


def _table() -> list[tuple[str, str]]:
    """(reason, message) of each row of the docs' Camera hardware table."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("### Camera hardware")
    section = text[start : text.find("\n#", start + 1)]
    rows = re.findall(r"^\| [^|]+ \| `(\w+)` \| `([^`]+)` \|$", section, re.MULTILINE)
    return [(reason, message) for reason, message in rows]


def test_the_docs_table_is_what_the_code_says() -> None:
    """Every documented message (and its data.reason) is the one the code builds, in order;
    a changed message fails here until the table says it too."""
    want = [(reason, _documented(err)) for reason, err in _cases()]
    got = _table()
    if got != want:
        table = "\n".join(f"| ... | `{r}` | `{m}` |" for r, m in want)
        pytest.fail(f"docs/faults.md's Camera hardware table should read:\n{table}")


def test_every_documented_message_names_the_camera_and_the_device() -> None:
    """Each message starts with the camera's name, its config key and its device."""
    for _, err in _cases():
        assert str(err).startswith(f"{err.key}: {err.device}: "), err
        assert "(cameras[" in err.key and err.device and err.hint
