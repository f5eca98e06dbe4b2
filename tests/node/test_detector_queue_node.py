"""The node's cameras share one detector through its queue: each camera's analysis asks in its
own name, and every camera is served."""

from __future__ import annotations

import threading
from pathlib import Path

import synth
from timing import wait_until

from edge.analysis.detect.base import Detection
from edge.analysis.detect.queue import CameraDetector, DetectorQueue
from edge.capture.frame import Image
from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.node.cameras import build_workers, plan_cameras


class Counting:
    """A made detector: finds nobody, counts its calls and the threads they came on."""

    name = "counting"
    size = 416

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def detect(self, image: Image) -> list[Detection]:
        """Nobody; counted."""
        with self._lock:
            self.calls += 1
            self.threads.add(threading.current_thread().name)
        return []


class NoSnapshots:
    """Snapshots are not what this test is about."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        """Take none."""


def test_every_camera_is_served_by_the_shared_queue(tmp_path: Path) -> None:
    """Four cameras replaying the same clip through build_workers with one DetectorQueue:
    each analysis holds its own view of the detector, every call is served on the queue's
    threads (none on a camera's), and each camera's calls are answered."""
    video = synth.write_video(tmp_path / "moving.mp4", frames=40)
    cams = "".join(
        f'[[cameras]]\nname = "c{n}"\nfps = 5\nmotion = {{ min_area = 0.001 }}\n'
        f'detection = {{ idle_check_s = 0.2 }}\ndetect = {{ kind = "file", path = "{video}" }}\n'
        for n in range(4)
    )
    cfg = loads(f'[node]\nid = "n"\nsite = "s"\n{cams}')
    detector = Counting()
    queue = DetectorQueue(detector, workers=2)
    events: list[Event] = []
    workers = build_workers(
        plan_cameras(cfg.cameras, record=False),
        EventFactory("n", "s"),
        events.append,
        detector=queue,
        snapshots=NoSnapshots(),  # type: ignore[arg-type]
        recorders={},
    )
    queue.start()
    try:
        for w in workers:
            assert isinstance(w.analyzer.detector, CameraDetector)
            assert w.analyzer.detector.camera == w.cfg.name
            w.start()
        assert wait_until(lambda: all(not t.is_alive() for w in workers for t in w.threads), 30)
    finally:
        for w in workers:
            w.shutdown(5)
        assert queue.shutdown(5)
    calls = {w.cfg.name: w.analyzer.stats.detector_calls for w in workers}
    assert all(n > 0 for n in calls.values()), calls
    assert queue.stats.served == calls
    assert detector.calls == sum(calls.values())
    assert detector.threads <= {"detector-0", "detector-1"}, detector.threads
