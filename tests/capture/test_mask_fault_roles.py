"""A privacy-mask fault on ANY input of a camera stops the whole camera: with separate detect
and record inputs, a record stream of another shape than the mask was drawn for also stops
detection; the camera raises one ``camera_fault`` (privacy_mask) and then sends nothing more:
no event, snapshot or clip."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import synth
from nodecfg import node_config, sensor, toml_value

from edge.capture.factory import build_inputs
from edge.capture.frame import Item
from edge.config.cameras import CameraConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker
from edge.node.node import Node
from edge.node.replay import flush_clips

pytestmark = pytest.mark.faults

#: the good input plays this long in real time; the camera must stop well before
GOOD_S = 20.0
#: how long after the fault every thread of the camera has ended, at most
STOP_S = 8.0


def _write_4x3(path: Path, frames: int = 20) -> Path:
    """The synthetic clip at 640x480 (4:3): another shape than the 640x360 mask."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=synth.FPS)
        stream.width, stream.height = 640, 480
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, synth.FPS)
        stream.options = {"preset": "ultrafast"}
        for n in range(frames):
            image = np.ascontiguousarray(cv2.resize(synth.frame(n), (640, 480)), np.uint8)
            vf = av.VideoFrame.from_ndarray(image, format="bgr24")
            vf.pts = n
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return path


def _videos(tmp_path: Path, wrong: str) -> tuple[Path, Path]:
    """(detect, record) files: the *wrong* role's is 4:3, the other a 20 s 16:9 clip."""
    good = synth.write_video(tmp_path / "good.mp4", frames=round(GOOD_S * synth.FPS))
    bad = _write_4x3(tmp_path / "other-shape.mp4")
    return (bad, good) if wrong == "detect" else (good, bad)


def _camera_toml(detect: Path, record: Path) -> str:
    def src(path: Path) -> str:
        return f"{{ kind = {toml_value('file')}, path = {toml_value(path)}, realtime = true }}"

    return f"""[[cameras]]
name = "hall"
fps = 5
fault_after_s = 1
detect = {src(detect)}
record = {src(record)}
{synth.MASK_TOML}
"""


def _camera(detect: Path, record: Path) -> CameraConfig:
    return loads(f'[node]\nid = "n"\nsite = "s"\n{_camera_toml(detect, record)}').cameras[0]


class _Log:
    """Events (and record items) with the time they were emitted."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self.records: list[float] = []
        self.lock = threading.Lock()

    def emit(self, e: Event) -> None:
        with self.lock:
            self.events.append((time.monotonic(), e))

    def record(self, _item: Item) -> None:
        with self.lock:
            self.records.append(time.monotonic())

    def fault(self, timeout: float) -> tuple[float, Event]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, e in self.events:
                    if e.kind == "camera_fault":
                        return t, e
            time.sleep(0.02)
        raise AssertionError(f"no camera_fault within {timeout} s")


@pytest.mark.parametrize("wrong", ["record", "detect"])
def test_mask_fault_on_one_input_stops_the_whole_camera(tmp_path: Path, wrong: str) -> None:
    """Separate detect and record inputs, one of another shape than the mask: one
    camera_fault (privacy_mask, naming the failing role), then no event and no record item
    from the camera at all, and every one of its threads ends within STOP_S although the
    good input would play for GOOD_S more."""
    detect, record = _videos(tmp_path, wrong)
    cam = _camera(detect, record)
    log = _Log()
    worker = CameraWorker(
        cam, build_inputs(cam, record=True), EventFactory("n", "s"), log.emit, record=log.record
    )
    worker.start()
    try:
        t_fault, fault = log.fault(10)
        assert worker.join(STOP_S), "the camera's other input went on"
    finally:
        worker.stop()
        worker.join(10)
    assert fault.data["reason"] == "privacy_mask" and fault.data["role"] == wrong
    assert "another shape" in fault.data["error"]
    after = [e for t, e in log.events if t >= t_fault and e is not fault]
    assert after == [], [(e.kind, e.state) for e in after]
    assert [str(e.kind) for _, e in log.events].count("camera_fault") == 1
    assert not [t for t in log.records if t > t_fault]
    assert worker.sharing.blocked and "another shape" in (worker.error or "")


@pytest.mark.slow
@pytest.mark.parametrize("wrong", ["record", "detect"])
def test_node_camera_with_a_bad_role_shares_nothing(tmp_path: Path, wrong: str) -> None:
    """A node with that camera and a door linked to it: after the camera's one camera_fault
    (privacy_mask) no event names the camera, the door opening afterwards gets no clip of it,
    and the camera cuts no clip and keeps no snapshot."""
    detect, record = _videos(tmp_path, wrong)
    cfg = node_config(
        tmp_path / "data",
        "n",
        mock_gpio=True,
        cameras=[_camera_toml(detect, record)],
        sensors=[sensor("door", "door", pin=5, cameras=["hall"])],
    )
    node = Node(loads(cfg))
    log = _Log()
    node.sink.subscribe(log.emit)
    pin = node.pin_factory.pin(5)
    pin.drive_low()  # door shut
    node.start()
    try:
        t_fault, fault = log.fault(15)
        (worker,) = node.cameras
        assert worker.join(STOP_S), "the camera's other input went on"
        pin.drive_high()  # the door opens after the fault
        deadline = time.monotonic() + 10
        while not [e for _, e in log.events if e.kind == "door_open"]:
            assert time.monotonic() < deadline, "no door_open event"
            time.sleep(0.02)
        assert flush_clips(node, 30)
    finally:
        node.stop()
    assert fault.camera == "hall" and fault.data["reason"] == "privacy_mask"
    after = [e for t, e in log.events if t >= t_fault and e is not fault]
    assert [e for e in after if e.camera == "hall"] == []
    door = next(e for e in after if e.kind == "door_open")
    assert door.clip_id is None and "clip_ids" not in door.data
    assert node.recorders["hall"].clips_cut == 0
    assert [e.snapshot_id for _, e in log.events if e.snapshot_id] == []
