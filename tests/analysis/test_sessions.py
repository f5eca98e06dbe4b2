"""Analysis across reconnects: stream time restarts at 0 with every input session, camera time
goes on (the outage counted), so the detector schedule, tracks, motion episodes and tampering
keep working after any number of reconnects; events say which session and wall-clock time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema
import numpy as np
import pytest
from conftest import ROOT

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import MotionResult
from edge.analysis.observation import Observation
from edge.analysis.schedule import DetectionSchedule
from edge.capture.frame import Frame, Image
from edge.capture.session import CameraClock, LagMeter
from edge.config.cameras import CameraConfig
from edge.config.detection import CameraDetectionConfig
from edge.config.loader import loads
from edge.core.kinds import Kind, State
from edge.events.camera import CameraEvents
from edge.events.context import EventFactory

STEP = 0.2  # analysis at 5 fps
BOX = Detection(300, 100, 60, 160, 0.9)
TEXTURE = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (360, 40))  # 640x360, stripes
VIEW = np.dstack([TEXTURE] * 3)
BLACK = np.zeros_like(VIEW)


@dataclass
class Scene:
    """What the fake camera shows now: a walking person (moving, detected) or a black view."""

    person: bool = False
    black: bool = False
    calls: int = 0


@dataclass
class FakeGate:
    """Motion exactly while the person is there."""

    scene: Scene

    def process(self, image: Image) -> MotionResult:
        """Motion where the person is."""
        moving = self.scene.person
        return MotionResult(moving, ((300, 100, 60, 160),) if moving else (), 0.1 * moving, False)


@dataclass
class FakeDetector:
    """Finds the person when there, counts its calls."""

    scene: Scene
    name: str = "fake"

    def detect(self, image: Image) -> list[Detection]:
        """The person's box when there."""
        self.scene.calls += 1
        return [BOX] if self.scene.person else []


@dataclass
class Camera:
    """Feeds an analyzer frames the way an input does: sessions from 1, pts from 0 in each,
    capture times (mono, wall) going on through outages."""

    analyzer: Analyzer
    scene: Scene
    session: int = 0
    pts: float = 0.0
    mono: float = 1000.0
    seen: list[Observation] = field(default_factory=list)
    last: Frame | None = None

    def connect(self, outage_s: float) -> None:
        """A new session after *outage_s* without frames."""
        self.session += 1
        self.pts = 0.0
        self.mono += outage_s

    def run(self, seconds: float) -> list[Observation]:
        """Analyse *seconds* of frames; returns what they caused."""
        out: list[Observation] = []
        for _ in range(round(seconds / STEP)):
            image = BLACK if self.scene.black else VIEW
            frame = Frame(
                "cam", 0, self.pts, self.mono, 1.7e9 + self.mono, image.copy(), session=self.session
            )
            out += self.analyzer.process(frame)
            self.last = frame
            self.pts += STEP
            self.mono += STEP
        self.seen += out
        return out


def _cam() -> CameraConfig:
    return loads("""
[node]
id = "n"
site = "s"
[[cameras]]
name = "cam"
fps = 5
detect = { kind = "rtsp", url = "rtsp://127.0.0.1:1/cam" }
""").cameras[0]


def _camera() -> Camera:
    scene = Scene()
    cam = _cam()
    analyzer = Analyzer(cam, detector=FakeDetector(scene), gate=FakeGate(scene))
    c = Camera(analyzer, scene)
    c.connect(0.0)
    return c


def _person(seen: list[Observation], state: State) -> list[Observation]:
    return [o for o in seen if o.kind is Kind.PERSON and o.state is state]


def test_a_lost_camera_ends_its_track_and_episode_at_its_last_frame() -> None:
    """The camera is lost 3 s into a person: the person's END and the motion episode's END
    come at once, at the last frame (its wall clock and stream time), marked camera_lost;
    after a 20 s outage the person seen again is a new track, and nothing of before ends
    at the new session's first frame."""
    c = _camera()
    c.scene.person = True
    c.run(3.0)
    last = c.last
    assert last is not None
    ended = c.analyzer.lost(last)
    assert {(o.kind, o.state) for o in ended} == {
        (Kind.PERSON, State.END),
        (Kind.MOTION, State.END),
    }
    for o in ended:
        assert o.wall == last.wall and o.session == 1
        assert o.data["reason"] == "camera_lost"
        assert o.data["stream_time"] == pytest.approx(last.pts)
    assert c.analyzer.lost(last) == []  # nothing left open
    c.connect(20.0)
    again = c.run(2.0)
    assert _person(again, State.END) == []
    (start,) = _person(again, State.START)
    assert start.session == 2 and start.occurrence != _person(ended, State.END)[0].occurrence


def test_after_a_lost_camera_the_first_frame_is_looked_at() -> None:
    """A camera lost while nothing moved: the first frame after it comes back gets a full
    detector look even without motion (someone may have come meanwhile), the next does not."""
    c = _camera()
    c.run(1.0)
    assert c.last is not None
    assert c.analyzer.lost(c.last) == []
    c.connect(10.0)
    calls = c.scene.calls
    c.run(STEP)
    assert c.scene.calls == calls + 1
    c.run(STEP)
    assert c.scene.calls == calls + 1


def test_camera_time_is_continuous_across_sessions() -> None:
    """The first session's camera time is its stream time; a new session (or stream time going
    back) continues after the last time plus the real gap; the same frame twice, the same
    time; stream time of the current session is given back, never below 0."""
    c = CameraClock()
    assert c.at(1, 0.0, 100.0) == 0.0
    assert c.at(1, 4.0, 104.0) == 4.0
    assert c.at(1, 4.0, 104.0) == 4.0
    assert c.at(2, 0.0, 134.0) == 34.0  # a 30 s outage is 30 s of camera time
    assert c.at(2, 1.0, 135.0) == 35.0
    assert c.stream_time(35.0) == 1.0
    assert c.stream_time(10.0) == 0.0
    assert c.at(2, 0.5, 135.2) > 35.0  # the camera reset its timestamps: later all the same
    assert c.sessions == 3


def test_decode_lag_is_lateness_against_the_sessions_best_frame() -> None:
    """Frames on time: no lag; frames arriving later than their stream time says: that much;
    a new session starts a new baseline."""
    m = LagMeter()
    assert m.lag(1, 0.0, 10.0) == 0.0
    assert m.lag(1, 1.0, 11.0) == 0.0
    assert m.lag(1, 2.0, 12.5) == pytest.approx(0.5, abs=0.01)
    assert m.lag(2, 0.0, 50.0) == 0.0


def test_schedule_is_never_held_back_by_time_going_back() -> None:
    """A time before the last run counts as long ago: the detector runs."""
    s = DetectionSchedule(CameraDetectionConfig(recheck_s=1.0))
    tracking_still = MotionResult(False, (), 0.0, False)
    assert s.due(tracking_still, 50.0, tracking=True)
    assert s.due(tracking_still, 0.0, tracking=True)


def test_people_are_detected_after_every_reconnect_and_no_track_lingers() -> None:
    """Five reconnects (3 s outages) while a person is tracked: each time the stale track ends
    (END on the new session's first frame, stream time 0), the detector keeps running, and
    the person arriving 6 s into the new session is a new START stated in that session."""
    c = _camera()
    for session in range(1, 7):
        c.scene.person = False  # each session starts on an empty view
        if session > 1:
            c.connect(3.0)
            calls = c.scene.calls
            ended = _person(c.run(STEP), State.END)
            assert [(o.session, o.stream_time) for o in ended] == [(session, 0.0)]
            assert not c.analyzer.tracker.tracks
        c.run(6.0 - STEP * (session > 1))
        c.scene.person = True
        started = _person(c.run(3.0), State.START)
        assert len(started) == 1, session
        assert started[0].session == session
        assert 5.99 <= started[0].data["stream_time"] <= 7.0
        if session > 1:
            assert c.scene.calls > calls
    assert len(_person(c.seen, State.START)) == 6
    assert len(_person(c.seen, State.END)) == 5


def test_a_short_reconnect_keeps_the_track() -> None:
    """A reconnect shorter than lost_after_s with the person still there: the same track goes
    on, no END and no second START."""
    c = _camera()
    c.scene.person = True
    c.run(3.0)
    c.connect(0.5)
    c.run(3.0)
    assert len(_person(c.seen, State.START)) == 1
    assert not _person(c.seen, State.END)
    assert len(c.analyzer.tracker.tracks) == 1


def test_motion_episode_open_at_a_reconnect_ends_and_a_new_one_starts() -> None:
    """Motion when the camera goes away for longer than end_after_s: the episode ends on the
    new session's first frame; motion in it is a new episode."""
    c = _camera()
    c.scene.person = True
    c.run(2.0)
    c.connect(5.0)
    seen = [o for o in c.run(1.0) if o.kind is Kind.MOTION]
    assert [(o.state, o.session) for o in seen] == [(State.END, 2), (State.START, 2)]
    assert seen[0].occurrence != seen[1].occurrence
    c.scene.person = False
    seen = [o for o in c.run(3.0) if o.kind is Kind.MOTION]
    assert [o.state for o in seen] == [State.END]


def test_darkness_is_seen_after_reconnects_and_only_watched_time_counts() -> None:
    """Dark for 3 s, an outage, dark again: reported (lights_off) only after hold_s (5 s) of
    dark in the new session; after more reconnects it is still reported and its end too."""
    c = _camera()
    c.run(3.0)  # learn the view
    c.scene.black = True
    c.run(3.0)
    for session in range(2, 5):
        c.connect(4.0)
        seen = [o for o in c.run(6.0) if o.kind is Kind.LIGHTS_OFF]
        if session == 2:
            assert [(o.state, o.session) for o in seen] == [(State.START, 2)]
            assert 5.0 <= seen[0].stream_time <= 5.4
        else:
            assert not seen  # still black: the same occurrence goes on
    c.scene.black = False
    c.connect(4.0)
    seen = [o for o in c.run(6.0) if o.kind is Kind.LIGHTS_OFF]
    assert [(o.state, o.session) for o in seen] == [(State.END, 5)]


def test_camera_events_carry_session_frame_time_and_stream_time() -> None:
    """Person, motion and their ends say their session, the frame's wall clock (RFC 3339
    UTC) and session-relative stream time; they match the event schema."""
    c = _camera()
    events = CameraEvents(c.analyzer, EventFactory("n", "s"))
    c.scene.person = True
    c.run(2.0)
    c.connect(3.0)
    c.scene.person = False
    seen = c.run(STEP)
    made = [events.event(o) for o in seen]
    assert {(e.kind, e.state) for e in made} == {("person", "end"), ("motion", "end")}
    schema = json.loads((ROOT / "edge" / "schemas" / "event.schema.json").read_text())
    for e in made:
        assert e.data["session"] == 2
        assert e.data["stream_time"] == 0.0
        assert e.data["frame_time"] == e.to_dict()["time"]
        assert e.data["frame_time"].endswith("Z")
        jsonschema.validate(e.to_dict(), schema)
