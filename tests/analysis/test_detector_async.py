"""A live camera asks the shared detector and does not wait: its frames go on through the
motion gate while the answer comes, and the answer is applied at the time of the frame it
was asked on. So a person on every camera at once makes answers come later, never frames
drop. A replay still waits for every answer (the same events every time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_detector_economy import STEP, VIEW, Road, _analyzer

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection
from edge.analysis.detect.queue import DetectorQueue
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Image
from edge.core.kinds import Kind, State
from edge.events.context import EventFactory
from edge.node.camera import CameraWorker

PERSON = Detection(300, 120, 60, 170, 0.9)


class Held:
    """A detector whose answers wait until the test lets them go (``release``)."""

    name = "held"

    def __init__(self, person: Detection | None = PERSON, fail: bool = False) -> None:
        self.person = person
        self.fail = fail
        self.go = threading.Event()
        self.asked = 0

    def detect(self, image: Image) -> list[Detection]:
        """The person, once let go (or a failure)."""
        self.asked += 1
        assert self.go.wait(10), "the test never let the detector answer"
        if self.fail:
            raise RuntimeError("model crashed")
        return [self.person] if self.person else []


@pytest.fixture
def queue() -> Iterator[tuple[DetectorQueue, Held]]:
    """A started queue over a held detector."""
    held = Held()
    q = DetectorQueue(held, workers=1, answer_s=5.0)
    q.start()
    yield q, held
    held.go.set()
    q.stop()
    q.join(5)


def _live(q: DetectorQueue, road: Road) -> Analyzer:
    an = _analyzer(road)
    an.detector = q.for_camera("cam")
    an.asynchronous = True
    return an


def _frame(road: Road) -> Frame:
    return Frame("cam", 0, road.t, 1000 + road.t, 1.7e9 + road.t, VIEW)


def _until(cond: object, deadline_s: float = 5.0) -> None:
    end = time.monotonic() + deadline_s
    while not cond() and time.monotonic() < end:  # type: ignore[operator]
        time.sleep(0.01)


def test_frames_go_on_while_the_answer_comes_and_it_counts_at_its_frame(
    queue: tuple[DetectorQueue, Held],
) -> None:
    """A held answer (1 s): every frame is analysed at once and only one request is out;
    let go, the person's START is at the time of the frame first asked on (0.0), not of the
    frame the answer came at (1.0)."""
    q, held = queue
    road = Road(cars=False, person=PERSON)
    an = _live(q, road)
    seen = []
    for _ in range(5):  # 1 s of frames, the detector holding its first answer
        seen += an.process(_frame(road))
        road.t += STEP
    assert an.stats.frames == 5
    _until(lambda: held.asked == 1)
    assert held.asked == 1 and an.stats.detector_calls == 0
    assert not [o for o in seen if o.kind is Kind.PERSON]
    held.go.set()
    for _ in range(15):
        _until(lambda: an._asked is None or an._asked[1].done.is_set(), 2.0)
        seen += an.process(_frame(road))
        road.t += STEP
    starts = [o for o in seen if o.kind is Kind.PERSON and o.state is State.START]
    assert len(starts) == 1
    assert starts[0].data["stream_time"] == 0.0
    assert an.stats.detector_calls >= 2  # the first sighting, then its confirmation


def test_a_failed_request_is_counted_and_asked_again(queue: tuple[DetectorQueue, Held]) -> None:
    """The detector raises: the camera counts it, goes on, and the next due frame asks
    again; once it works the person is found."""
    q, held = queue
    held.fail = True
    held.go.set()
    road = Road(cars=False, person=PERSON)
    an = _live(q, road)
    an.process(_frame(road))
    _until(lambda: an._asked is not None and an._asked[1].done.is_set())
    road.t += STEP
    an.process(_frame(road))  # the failure collected; this frame asks again
    assert an.stats.detector_errors == 1
    assert an._asked is not None
    held.fail = False
    seen = []
    for _ in range(15):
        _until(lambda: an._asked is None or an._asked[1].done.is_set(), 2.0)
        road.t += STEP
        seen += an.process(_frame(road))
    assert any(o.kind is Kind.PERSON and o.state is State.START for o in seen)


def test_the_end_of_the_stream_waits_for_the_answer_asked(
    queue: tuple[DetectorQueue, Held],
) -> None:
    """An answer still out when the stream ends is waited for and applied: the person
    confirmed by it starts and ends."""
    q, held = queue
    road = Road(cars=False, person=PERSON)
    an = _live(q, road)
    held.go.set()
    an.process(_frame(road))
    _until(lambda: an._asked is not None and an._asked[1].done.is_set())
    road.t += STEP
    held.go.clear()
    an.process(_frame(road))  # the first hit applied, the confirming run asked and held
    assert an._asked is not None
    threading.Timer(0.3, held.go.set).start()
    road.t += STEP
    ended = an.finish(_frame(road))
    states = [o.state for o in ended if o.kind is Kind.PERSON]
    assert states == [State.START, State.END]


def test_only_a_live_camera_with_the_shared_detector_goes_without_waiting(
    queue: tuple[DetectorQueue, Held], tmp_path: Path
) -> None:
    """A live camera with the node's queue: asked, not waited for; a replay (a file), or a
    detector of its own: waited for."""
    q, _ = queue
    road = Road()
    cam = _analyzer(road).cam
    factory = EventFactory("n", "s")
    replay = FileInput("cam", tmp_path / "x.mp4", analysis_fps=5)

    class Live:
        live = True

    def worker(inp: object, detector: object) -> CameraWorker:
        return CameraWorker(cam, [inp], factory, lambda e: None, detector=detector)  # type: ignore[list-item,arg-type]

    assert worker(Live(), q.for_camera("cam")).analyzer.asynchronous
    assert not worker(replay, q.for_camera("cam")).analyzer.asynchronous
    assert not worker(Live(), Held()).analyzer.asynchronous


def test_a_hung_detector_never_holds_the_frames_up() -> None:
    """The detector never answers: frames keep being analysed; once the request is older
    than the queue's answer_s it is counted as failed and dropped, and a later frame asks
    again (the queue's health reports the hung call: the node's liveness)."""
    held = Held()
    q = DetectorQueue(held, workers=1, answer_s=0.2)
    q.start()
    try:
        road = Road(cars=False, person=PERSON)
        an = _live(q, road)
        end = time.monotonic() + 5
        while an.stats.detector_errors == 0 and time.monotonic() < end:
            an.process(_frame(road))
            road.t += STEP
            time.sleep(0.02)  # frames come in real time-ish; nothing is timed
        assert an.stats.detector_errors == 1
        assert an.stats.frames >= 2  # frames after the request went on (however slow the box)
        road.t += STEP
        an.process(_frame(road))
        assert an._asked is not None  # asked again
        _until(lambda: not q.health().alive)
        assert not q.health().alive
    finally:
        held.go.set()
        q.stop()
        q.join(5)
