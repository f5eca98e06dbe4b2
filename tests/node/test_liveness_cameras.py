"""The liveness model on real camera threads: an analysis stuck in a call is stalled, a
stream camera whose capture or analysis thread ended is dead, while a camera that goes
quiet is a camera fault only and a file camera that played to its end is neither. Judged on
a made-up clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from timing import FakeClock, wait_until

from edge.capture.factory import build_inputs
from edge.capture.frame import Frame, Item, Role
from edge.config.cameras import CameraConfig
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.camera import CameraWorker
from edge.node.liveness import LivenessCheck, Vitals, read_parts


class Ticker:
    """An endless live input (a camera stream): a small grey frame every 20 ms until closed.
    With *bug*, ``stream()`` raises it (a bug that ends the capture thread)."""

    roles = Role.DETECT
    live = True
    endless = True

    def __init__(self, camera: str, bug: BaseException | None = None) -> None:
        self.camera = camera
        self.bug = bug
        self.silent = threading.Event()
        """Set: the stream stays connected but delivers nothing (a camera gone quiet)."""
        self._closed = threading.Event()

    def stream(self) -> Iterator[Item]:
        """Frames until closed."""
        if self.bug is not None:
            raise self.bug
        seq = 0
        while not self._closed.wait(0.02):
            if self.silent.is_set():
                continue
            image = np.full((48, 64, 3), 90, np.uint8)
            yield Frame(self.camera, seq, seq * 0.02, time.monotonic(), time.time(), image)
            seq += 1

    def close(self) -> None:
        """End the stream."""
        self._closed.set()


class KilledThread(BaseException):
    """Ends a thread the way a bug beyond ``except Exception`` would."""


def _camera_cfg(
    name: str = "hall", path: str = "/nonexistent.mp4", fault_after_s: float = 10.0
) -> CameraConfig:
    return loads(
        f'[node]\nid = "n"\nsite = "s"\n[[cameras]]\nname = "{name}"\nfps = 5\n'
        f"fault_after_s = {fault_after_s}\n"
        f'detect = {{ kind = "file", path = "{path}" }}\n'
    ).cameras[0]


def _worker(
    inp: Ticker, on_frame: Callable[[Frame], None] | None = None, fault_after_s: float = 10.0
) -> tuple[CameraWorker, list[Event]]:
    events: list[Event] = []
    cfg = _camera_cfg(inp.camera, fault_after_s=fault_after_s)
    w = CameraWorker(cfg, [inp], EventFactory("n", "s"), events.append, on_frame=on_frame)
    return w, events


# -- reading the real parts -------------------------------------------------------------------


@pytest.mark.faults
def test_a_wedged_analysis_thread_is_found_and_cleared() -> None:
    """A real camera whose analysis is stuck in a call (the frame callback blocks) while its
    stream keeps delivering: frames wait, the count stands, so it is stalled at the limit;
    released, it moves again and the stall clears. The camera itself is not faulted."""
    release = threading.Event()
    wedge = threading.Event()

    def on_frame(_f: Frame) -> None:
        if wedge.is_set():
            release.wait(30)

    w, events = _worker(Ticker("hall"), on_frame)
    clock = FakeClock()
    check = LivenessCheck.of([w], [w], stall_s=30.0, clock=clock)
    w.start()
    try:
        assert wait_until(lambda: w.frames_analysed > 3)
        assert check.check().alive
        wedge.set()
        assert wait_until(lambda: len(w.queue) == w.queue.maxsize)  # frames waiting
        stuck_at = w.frames_analysed
        assert check.check().alive
        clock.advance(30)
        v = check.check()
        assert w.frames_analysed == stuck_at
        assert not v.alive and v.reasons == ("analysis_stalled:hall",), v
        assert not any(lv.faulted for lv in w.liveness.values())
        wedge.clear()
        release.set()
        assert wait_until(lambda: w.frames_analysed > stuck_at + 2)
        assert check.check().alive
    finally:
        release.set()
        assert w.shutdown(10)
    assert not [e for e in events if e.kind == "camera_fault"]


@pytest.mark.faults
def test_a_silent_camera_is_a_camera_fault_not_a_wedge() -> None:
    """A stream that goes quiet raises camera_fault after fault_after_s; the watchdog goes on
    however long it lasts (its analysis is idle, nothing is dead); frames back: restored."""
    ticker = Ticker("dock")
    w, events = _worker(ticker, fault_after_s=0.3)
    clock = FakeClock()
    check = LivenessCheck.of([w], [w], clock=clock)
    w.start()
    try:
        assert wait_until(lambda: w.frames_analysed > 2)
        ticker.silent.set()
        assert wait_until(lambda: any(e.kind == "camera_fault" for e in events))
        assert check.check().alive
        clock.advance(3600)
        assert check.check() == Vitals()
        ticker.silent.clear()
        assert wait_until(lambda: any(e.kind == "camera_restored" for e in events))
        assert check.check().alive
    finally:
        assert w.shutdown(10)


@pytest.mark.faults
def test_an_analysis_thread_that_ended_under_a_running_stream_is_dead() -> None:
    """The analysis thread of a stream camera ends while its capture runs on: dead."""
    w, _ = _worker(Ticker("gate"))
    w.start()
    try:
        assert wait_until(lambda: w.frames_analysed > 0)
        assert read_parts([w], []).dead == ()
        w.queue.close()  # the analysis loop ends; capture goes on (puts are ignored)
        analysis = next(t for t in w.threads if t.name == "analyse-gate")
        analysis.join(10)
        dead = read_parts([w], []).dead
        assert [d.name for d in dead] == ["camera-gate"]
        assert "analyse-gate" in dead[0].detail
    finally:
        assert w.shutdown(10)
    assert read_parts([w], []).dead == ()  # stopped on purpose: nothing is dead


@pytest.mark.faults
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_stream_capture_thread_that_ended_is_dead() -> None:
    """The capture thread of an endless input (a stream) ends through a bug: dead."""
    w, _ = _worker(Ticker("lobby", bug=KilledThread()))
    w.start()
    try:
        assert wait_until(lambda: not w.threads[0].is_alive())
        dead = read_parts([w], []).dead
        assert [d.name for d in dead] == ["camera-lobby"]
        assert "capture-lobby-0" in dead[0].detail
    finally:
        assert w.shutdown(10)


@pytest.mark.faults
def test_a_file_camera_that_played_to_its_end_is_neither_dead_nor_stalled(videos: Path) -> None:
    """A file input ends on purpose: all its threads end, nothing is dead or stalled."""
    cam = _camera_cfg("replay", str(videos / "light-dark.h264"))
    w = CameraWorker(cam, build_inputs(cam, record=False), EventFactory("n", "s"), lambda e: None)
    clock = FakeClock()
    check = LivenessCheck.of([w], [w], clock=clock)
    w.start()
    assert w.join(60)
    assert w.frames_analysed > 0
    clock.advance(3600)
    assert check.check() == Vitals()
