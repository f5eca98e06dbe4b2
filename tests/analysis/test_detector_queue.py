"""The shared detector's queue: fair across cameras, nothing lost or reordered within a camera,
a raising, hung or dead detector answered (never a caller left hanging)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from timing import wait_until

from edge.analysis.detect.base import Detection
from edge.analysis.detect.queue import DetectorQueue, NoAnswer, Superseded
from edge.capture.frame import Image
from edge.core.errors import DetectorError

CAMERAS = [f"cam{n}" for n in range(8)]


def _image(camera: int, seq: int) -> Image:
    """A tiny image that says which camera's which request it is."""
    return np.array([[[camera, seq % 256, seq // 256]]], np.uint8)


class Tagging:
    """A made detector: answers with one box whose x and y are the image's camera and request,
    records the order it was asked in, and can be held (every call waits for ``go``)."""

    name = "tagging"
    size = 64

    def __init__(self) -> None:
        self.order: list[tuple[int, int]] = []
        self.go = threading.Event()
        self.go.set()
        self.calls = threading.Semaphore(0)

    def detect(self, image: Image) -> list[Detection]:
        """One box naming the request (after waiting for ``go``)."""
        self.calls.release()
        self.go.wait()
        cam, seq = int(image[0, 0, 0]), int(image[0, 0, 1]) + 256 * int(image[0, 0, 2])
        self.order.append((cam, seq))
        return [Detection(float(cam), float(seq), 1.0, 1.0, 0.9)]


@pytest.fixture
def tagging() -> Iterator[Tagging]:
    """The made detector, released at the end whatever the test left it in."""
    d = Tagging()
    yield d
    d.go.set()


def _started(detector: object, **kw: object) -> DetectorQueue:
    q = DetectorQueue(detector, **kw)  # type: ignore[arg-type]
    q.start()
    return q


def test_eight_flooding_cameras_are_served_in_turn(tagging: Tagging) -> None:
    """8 cameras each queue 4 requests while the detector is busy (camera 0 first, all of its
    own): they are served round robin, each camera within 7 turns of the others, every request
    answered with its own boxes, in order within its camera."""
    q = _started(tagging, depth=4)
    try:
        tagging.go.clear()
        first = q.submit("warmup", _image(99, 0))
        assert tagging.calls.acquire(timeout=5), "the detector was never called"
        asked = [(c, s) for c in range(8) for s in range(4)]  # camera 0's four first
        tickets = [q.submit(CAMERAS[c], _image(c, s)) for c, s in asked]
        tagging.go.set()
        first.result(5)
        for (c, s), t in zip(asked, tickets, strict=True):
            (box,) = t.result(5)
            assert (box.x, box.y) == (c, s), "an answer went to the wrong request"
        served = [cam for cam, _ in tagging.order[1:]]
        assert len(served) == 32
        for c in range(8):
            turns = [i for i, cam in enumerate(served) if cam == c]
            assert len(turns) == 4
            assert turns[0] <= 7, f"camera {c} waited {turns[0]} turns for its first answer"
            gaps = [b - a for a, b in itertools.pairwise(turns)]
            assert max(gaps) <= 8, f"camera {c} waited {max(gaps) - 1} turns between answers"
            seqs = [seq for cam, seq in tagging.order[1:] if cam == c]
            assert seqs == [0, 1, 2, 3], f"camera {c} served out of order: {seqs}"
        assert q.stats.superseded == 0 and q.waiting == 0
    finally:
        assert q.shutdown(5)


def test_callers_flooding_get_their_own_answers_none_lost(tagging: Tagging) -> None:
    """8 analysis threads each asking 25 times at once through their camera's view: every
    call answered with its own request's box, in order, and none waits for more than the 7
    other cameras' requests (plus those already in the detector's 2 threads)."""
    q = _started(tagging, workers=2)
    got: dict[int, list[int]] = {c: [] for c in range(8)}
    waited: list[int] = []

    def camera(c: int) -> None:
        view = q.for_camera(CAMERAS[c])
        for s in range(25):
            before = len(tagging.order)
            (box,) = view.detect(_image(c, s))
            assert int(box.x) == c
            got[c].append(int(box.y))
            waited.append(tagging.order.index((c, s)) - before)  # others served meanwhile

    threads = [threading.Thread(target=camera, args=(c,)) for c in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert all(got[c] == list(range(25)) for c in range(8)), got
        assert sum(q.stats.served.values()) == 200 and q.stats.superseded == 0
        assert max(waited) <= 7 + 2, f"a request waited for {max(waited)} others"
    finally:
        assert q.shutdown(5)


def test_the_newest_request_of_a_camera_wins_the_older_is_answered(tagging: Tagging) -> None:
    """With room for one waiting request per camera, a newer one takes the older's place: the
    older is answered Superseded (not left hanging), the newest served."""
    q = _started(tagging, depth=1)
    try:
        tagging.go.clear()
        busy = q.submit("other", _image(7, 0))
        assert tagging.calls.acquire(timeout=5)
        old, older_still, new = (q.submit("cam0", _image(0, s)) for s in range(3))
        with pytest.raises(Superseded, match="cam0"):
            old.result(1)
        with pytest.raises(Superseded):
            older_still.result(1)
        tagging.go.set()
        busy.result(5)
        assert [int(b.y) for b in new.result(5)] == [2]
        assert q.stats.superseded == 2
    finally:
        assert q.shutdown(5)


class Failing:
    """A made detector that raises on the requests of camera 1."""

    name = "failing"

    def detect(self, image: Image) -> list[Detection]:
        """Raises for camera 1, nobody for the others."""
        if int(image[0, 0, 0]) == 1:
            raise RuntimeError("model exploded")
        return []


def test_a_raising_detector_answers_with_an_error_and_keeps_serving() -> None:
    """The detector's error is that request's answer (a DetectorError naming the camera and
    the cause); the next request is served as usual."""
    q = _started(Failing())
    try:
        with pytest.raises(DetectorError, match=r"'cam1'.*model exploded"):
            q.detect("cam1", _image(1, 0))
        assert q.detect("cam0", _image(0, 0)) == []
        assert q.stats.failed == 1 and q.health().alive
    finally:
        assert q.shutdown(5)


def test_a_hung_detector_is_reported_not_waited_for_forever(tagging: Tagging) -> None:
    """A detector that never returns: the caller gets NoAnswer after answer_s (its waiting
    request taken out of the line), and so does the next camera's caller; the queue's health
    says a call hangs (the node's liveness: service_dead:detector), and is well again once the
    call returns."""
    q = _started(tagging, answer_s=0.3)
    try:
        tagging.go.clear()
        with pytest.raises(NoAnswer, match=r"cam0.*did not answer"):
            q.detect("cam0", _image(0, 0))
        with pytest.raises(NoAnswer, match="cam1"):
            q.detect("cam1", _image(1, 0))
        assert q.stats.no_answer == 2 and q.waiting == 0
        assert not q.health().alive and "has run for" in q.health().detail
        tagging.go.set()
        assert wait_until(lambda: q.health().alive, 5)
    finally:
        tagging.go.set()
        assert q.shutdown(5)


class Dying:
    """A made detector whose call ends the thread it runs on (as a bug below Python would)."""

    name = "dying"

    def detect(self, image: Image) -> list[Detection]:
        """Ends the calling thread."""
        raise SystemExit


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_queue_thread_is_reported_and_callers_are_answered() -> None:
    """The queue's only thread dies in a call: its health says so (the node's liveness turns
    that into service_dead:detector) and the caller gets NoAnswer, not a hang."""
    q = _started(Dying(), answer_s=0.3)
    try:
        with pytest.raises(NoAnswer):
            q.detect("cam0", _image(0, 0))
        assert wait_until(lambda: not q.health().alive, 5)
        assert "detector-0" in q.health().detail
    finally:
        q.stop()


def test_not_running_it_serves_on_the_callers_thread(tagging: Tagging) -> None:
    """Before start and after stop (the node stops its cameras first, whose analysis may
    still finish a frame) a request is served at once on the caller's thread."""
    q = DetectorQueue(tagging)
    assert [int(b.x) for b in q.detect("cam3", _image(3, 0))] == [3]
    q.start()
    assert q.shutdown(5)
    assert [int(b.x) for b in q.for_camera("cam4").detect(_image(4, 1))] == [4]
    assert q.stats.inline == 2
    assert q.for_camera("cam4").size == 64  # the detector's own attributes show through


def test_bad_settings_are_refused_by_name() -> None:
    """Workers, depth and answer_s out of range: a ValueError naming them."""
    with pytest.raises(ValueError, match="workers"):
        DetectorQueue(Failing(), workers=0)
