"""Inputs that cannot be opened or decoded are camera faults, not just log lines: a zero-byte
file, a text file named .mp4, a truncated mp4 and a missing file each raise one
``camera_fault`` naming the reason and the file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from nodecfg import video_camera

from edge.capture.base import SourceError
from edge.capture.factory import build_inputs
from edge.capture.file import FileInput
from edge.config.cameras import CameraConfig
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker

pytestmark = pytest.mark.faults


def _broken(kind: str, tmp_path: Path, videos: Path) -> Path:
    """A broken 'video' of *kind* in *tmp_path*."""
    path = tmp_path / f"{kind}.mp4"
    if kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("camera 3 footage, see the shared drive\n" * 20)
    elif kind == "truncated":  # ftyp and the start of moov: opens, holds no frame
        path.write_bytes((videos / "one-by-one-person-detection.mp4").read_bytes()[:2048])
    elif kind == "truncated-moov-at-end":  # FFmpeg refuses it when opening
        path.write_bytes((videos / "car-detection.mp4").read_bytes()[:2048])
    return path  # "missing": never written


def _camera(path: Path) -> CameraConfig:
    return video_camera(path, name="yard")


#: broken file -> the fault's data.reason
CASES = {
    "zero-bytes": "decode_failed",
    "text": "decode_failed",
    "truncated": "decode_failed",
    "truncated-moov-at-end": "decode_failed",
    "missing": "open_failed",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_broken_file_input_says_why(kind: str, tmp_path: Path, videos: Path) -> None:
    """The input itself raises SourceError with the reason and the file's name."""
    path = _broken(kind, tmp_path, videos)
    with pytest.raises(SourceError) as info:
        list(FileInput("yard", path).stream())
    assert getattr(info.value, "reason", None) == CASES[kind]
    assert str(path) in str(info.value) and "camera 'yard'" in str(info.value)


@pytest.mark.parametrize("record", [False, True], ids=["detect", "detect+record"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_broken_file_raises_one_camera_fault(
    kind: str, record: bool, tmp_path: Path, videos: Path
) -> None:
    """A camera on a broken file (detect alone, or both roles from it) raises exactly one
    camera_fault, an alarm, with data.reason (open_failed / decode_failed) and data.error
    naming the file; the worker then ends and its input shows as faulted."""
    path = _broken(kind, tmp_path, videos)
    cam = _camera(path)
    events: list[Event] = []
    lock = threading.Lock()

    def emit(e: Event) -> None:
        with lock:
            events.append(e)

    worker = CameraWorker(cam, build_inputs(cam, record=record), EventFactory("n", "s"), emit)
    worker.start()
    assert worker.join(15), "the worker did not end on a broken file"
    faults = [e for e in events if e.kind == "camera_fault"]
    assert len(faults) == 1, events
    fault = faults[0]
    assert fault.severity == "alarm" and fault.camera == "yard"
    assert fault.data["reason"] == CASES[kind]
    assert fault.data["role"] == ("detect+record" if record else "detect")
    assert str(path) in fault.data["error"]
    assert worker.error == fault.data["error"]
    assert all(lv.faulted for lv in worker.liveness.values())
    assert [e.kind for e in events] == ["camera_fault"]


def test_good_file_raises_no_fault(videos: Path) -> None:
    """A sample that plays to its end raises no camera_fault (the end of a file is no fault)."""
    cam = _camera(videos / "light-dark.h264")
    events: list[Event] = []
    worker = CameraWorker(
        cam, build_inputs(cam, record=True), EventFactory("n", "s"), events.append
    )
    worker.start()
    assert worker.join(60)
    assert worker.frames_analysed > 40
    assert not [e for e in events if e.kind == "camera_fault"]
    assert worker.error is None
