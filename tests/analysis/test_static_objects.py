"""No person alarm on a static object (issue 24): made scenes of a room, the real motion gate
and analyzer, a detector that boxes every dark person-sized shape it is shown (as a person
model does with a coat or a lamp's silhouette), and the static-object rule deciding.

- a still silhouette in a room that a person walks through: one person event, on the walker;
- a person who walks in and sits still for half a minute: one event, until they leave;
- a box the detector puts on a chair only while someone walks past it: no event of its own;
- someone still from before any motion who then walks off, or stirs in place: held, then
  one event;
- someone standing still right after the camera was lost a while: not held (they may have
  come while nobody watched).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.analysis.analyzer import Analyzer
from edge.analysis.detect.base import Detection
from edge.analysis.motion.base import MotionGate, MotionResult
from edge.analysis.observation import Observation
from edge.analysis.stillness import HELD
from edge.capture.frame import Frame, Image
from edge.config.loader import loads
from edge.core.kinds import Kind, State

W, H = 640, 360
STEP = 0.2  # 5 fps, the analysis rate
FLOOR = 330
Box = tuple[int, int, int, int]

SILHOUETTE: Box = (70, 130, 60, 180)
"""A coat on a stand: person-sized, dark, never moves."""
CHAIR: Box = (420, 230, 70, 100)


def _room() -> npt.NDArray[np.uint8]:
    """A lit room: a wall with some texture, a floor."""
    rng = np.random.default_rng(24)
    img = np.empty((H, W, 3), np.uint8)
    img[:] = 150
    img[FLOOR:] = 110
    texture = rng.normal(0, 6, (H, W, 1))
    return np.clip(img + texture, 0, 255).astype(np.uint8)


ROOM = _room()
NOISY = [
    np.clip(ROOM + np.random.default_rng(i).normal(0, 2, ROOM.shape), 0, 255).astype(np.uint8)
    for i in range(8)
]
"""The room under sensor noise, a few frames of it to cycle through (cheap to copy)."""


def _person(img: npt.NDArray[np.uint8], box: Box) -> None:
    """A dark person shape (head and body) filling *box*."""
    x, y, w, h = box
    r = max(4, w // 3)
    cv2.circle(img, (x + w // 2, y + r), r, (40, 40, 40), -1)
    cv2.rectangle(img, (x, y + 2 * r), (x + w, y + h), (40, 40, 40), -1)


@dataclass
class Room:
    """A room scene over time: what stands in it, who walks, what the detector boxes."""

    silhouette: bool = False
    chair: bool = False
    false_within: int = 120
    stir: bool = False
    """The walker stirs in place (a lighter band moving over their body, box unchanged)."""
    """The detector's false box on the chair comes while a walker's centre is this near it."""
    walker: Box | None = None
    t: float = 0.0
    frames: int = 0

    def image(self) -> Image:
        """The frame now: the room under sensor noise, what stands in it, the walker."""
        self.frames += 1
        img = NOISY[self.frames % len(NOISY)].copy()
        if self.chair:
            x, y, w, h = CHAIR
            cv2.rectangle(img, (x, y), (x + w, y + 12), (110, 100, 90), -1)
            cv2.rectangle(img, (x, y), (x + 10, y + h), (110, 100, 90), -1)
            cv2.rectangle(img, (x + w - 10, y + 40), (x + w, y + h), (110, 100, 90), -1)
        if self.silhouette:
            _person(img, SILHOUETTE)
        if self.walker is not None:
            _person(img, self.walker)
            if self.stir:
                x, y, w, h = self.walker
                band = y + h // 2 + (self.frames % 3) * h // 6
                img[band : band + h // 6, x : x + w] = 75
        return img

    name: str = "shapes"

    def detect(self, image: Image) -> list[Detection]:
        """Every dark shape of a person's size and shape; and, like the model in the office
        clip, a false box on the chair while someone is right beside it."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        dark = np.asarray(grey < 80, np.uint8)
        contours, _ = cv2.findContours(dark, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            if h >= 80 and 1.5 <= h / w <= 5:
                out.append(Detection(x, y, w, h, 0.8))
        if self.chair and self.walker is not None:
            wx, _, ww, _ = self.walker
            if abs(wx + ww / 2 - (CHAIR[0] + CHAIR[2] / 2)) < self.false_within:
                out.append(Detection(*CHAIR, 0.5))
        return out


TRACKER = "iou"
"""The matcher these scenes run (the rule sits above any): set, so that they test the rule
and not a matcher's identity keeping; the walker goes at 90 px/s, half a box width between
detector runs (identity through such scenes: tests/analysis/test_track_identity.py)."""


class Blind:
    """A motion gate that sees nothing (a dark room it cannot see in)."""

    def process(self, image: Image) -> MotionResult:
        """No motion, ever."""
        return MotionResult(False, (), 0.0, False)


def _analyzer(room: Room, gate: MotionGate | None = None) -> Analyzer:
    cam = loads(f"""
[node]
id = "n"
site = "s"
[[cameras]]
name = "cam"
fps = 5
detect = {{ kind = "rtsp", url = "rtsp://127.0.0.1:1/cam" }}
detection = {{ tracker = "{TRACKER}" }}
""").cameras[0]
    return Analyzer(cam, detector=room, gate=gate)


def _run(
    an: Analyzer, room: Room, seconds: float, walk: list[Box] | None = None
) -> list[Observation]:
    """*seconds* of frames; the walker follows *walk* (one box a frame, then stays)."""
    out: list[Observation] = []
    for i in range(round(seconds / STEP)):
        if walk is not None:
            room.walker = walk[i] if i < len(walk) else room.walker
        out += an.process(Frame("cam", 0, room.t, 1000 + room.t, 1.7e9 + room.t, room.image()))
        room.t += STEP
    return out


def _across(y: int, w: int, h: int, x0: int, x1: int, px_per_frame: int) -> list[Box]:
    step = px_per_frame if x1 > x0 else -px_per_frame
    return [(x, y, w, h) for x in range(x0, x1, step)]


def _people(seen: list[Observation], state: State) -> list[Observation]:
    return [o for o in seen if o.kind is Kind.PERSON and o.state is state]


def _box(o: Observation) -> list[int]:
    box = o.data["box"]
    assert isinstance(box, list)
    return box


def test_a_still_silhouette_makes_no_event_and_the_walker_one() -> None:
    """A coat on a stand, then a person walking across the room and out (the detector boxes
    both on every run): one person event, on the walker, ended after they left; the coat's
    track is held back the whole time and never starts, not even after the room is empty."""
    room = Room(silhouette=True)
    an = _analyzer(room)
    seen = _run(an, room, 20.0)  # the room alone: the idle check boxes the coat
    seen += _run(an, room, 8.0, _across(150, 50, 170, 700, -80, 18))
    assert list(an.stillness.why.values()) == [HELD]  # the coat, seen on every run
    room.walker = None
    seen += _run(an, room, 20.0)
    starts, ends = _people(seen, State.START), _people(seen, State.END)
    assert len(starts) == 1 and len(ends) == 1, [(o.state, o.data) for o in seen]
    assert starts[0].occurrence == ends[0].occurrence
    assert _box(starts[0])[0] > SILHOUETTE[0] + SILHOUETTE[2]  # on the walker


def test_a_person_who_walks_in_and_sits_still_is_one_event_until_they_leave() -> None:
    """Walk in, sit down (the box shrinks and stops) for 30 s (the gate takes them into the
    background), stand up and walk out: one START while walking in, one END after leaving."""
    room = Room(silhouette=True)
    an = _analyzer(room)
    seen = _run(an, room, 2.0)
    walk_in = _across(150, 50, 170, 700, 300, 16)
    seen += _run(an, room, len(walk_in) * STEP, walk_in)
    room.walker = (300, 210, 50, 110)  # sitting
    seen += _run(an, room, 30.0)
    assert len(_people(seen, State.START)) == 1 and not _people(seen, State.END)
    seen += _run(an, room, 8.0, _across(150, 50, 170, 300, -80, 16))
    room.walker = None
    seen += _run(an, room, 10.0)
    starts, ends = _people(seen, State.START), _people(seen, State.END)
    assert len(starts) == 1 and len(ends) == 1, [(o.state, o.data) for o in seen]
    assert starts[0].occurrence == ends[0].occurrence
    assert float(starts[0].data["stream_time"]) < 2.0 + len(walk_in) * STEP
    assert float(ends[0].data["stream_time"]) > 2.0 + len(walk_in) * STEP + 30.0


@pytest.mark.parametrize(
    "false_within",
    [
        pytest.param(120, id="beside"),
        pytest.param(50, id="under"),
    ],
)
def test_a_false_box_by_a_passer_by_makes_no_event(false_within: int) -> None:
    """The detector boxes the chair only while someone walks past it (a false box next to
    motion): the chair never moved and nothing moved over most of it before. ``under``: the
    false box comes only while the passer-by is right in front of the chair (their motion all
    over it): that motion is theirs, a tracked person's, not the chair's arrival. Either way
    one event, the passer-by's."""
    room = Room(chair=True, false_within=false_within)
    an = _analyzer(room)
    seen = _run(an, room, 3.0)
    seen += _run(an, room, 9.0, _across(150, 50, 170, -60, 700, 16))
    room.walker = None
    seen += _run(an, room, 5.0)
    starts = _people(seen, State.START)
    assert len(starts) == 1, [(o.state, o.data) for o in seen]
    assert _box(starts[0])[3] >= 150  # the walker's box, not the chair's


def test_something_still_from_the_start_that_walks_off_starts_then() -> None:
    """Someone standing still since before any motion is held like a coat; when they walk
    off, their event starts (one), dated from when they were first seen."""
    room = Room()
    room.walker = (300, 150, 50, 170)
    an = _analyzer(room)
    seen = _run(an, room, 17.0)
    assert not _people(seen, State.START)
    assert len(an.stillness.why) == 1
    seen += _run(an, room, 8.0, _across(150, 50, 170, 300, 700, 16))
    starts = _people(seen, State.START)
    assert len(starts) == 1, [(o.state, o.data) for o in seen]
    assert 15.0 <= float(starts[0].data["stream_time"]) <= 15.5  # the idle check found them


def test_something_still_from_the_start_that_stirs_in_place_starts_then() -> None:
    """Held like a coat, then moving in place with nobody else about (as a person in a dark
    room first found where the gate saw little of them): motion over most of its box while
    nobody is followed releases it; one START."""
    room = Room()
    room.walker = (300, 150, 50, 170)
    an = _analyzer(room)
    seen = _run(an, room, 17.0)
    assert not _people(seen, State.START) and len(an.stillness.why) == 1
    room.stir = True
    seen += _run(an, room, 3.0)
    starts = _people(seen, State.START)
    assert len(starts) == 1 and not an.stillness.why, [(o.state, o.data) for o in seen]
    assert _box(starts[0])[:2] == [300, 150]


def test_what_stands_still_after_an_outage_may_have_come_meanwhile() -> None:
    """The camera is lost for 30 s; at the first frame after it a person stands still where
    the gate sees nothing: nobody watched the view meanwhile, so they are not taken for a
    coat that was always there: one START at once (without the outage they would be held)."""
    room = Room()
    an = _analyzer(room, Blind())
    _run(an, room, 5.0)
    last = Frame("cam", 0, room.t - STEP, 1000 + room.t - STEP, 1.7e9 + room.t, room.image())
    assert an.lost(last) == []
    room.t += 30.0
    room.walker = (300, 150, 50, 170)
    starts = _people(_run(an, room, 1.0), State.START)
    assert len(starts) == 1 and float(starts[0].data["stream_time"]) == pytest.approx(room.t - 1.0)
    held = Room(walker=(300, 150, 50, 170))
    an = _analyzer(held, Blind())
    assert not _people(_run(an, held, 17.0), State.START)  # the idle check found it: held
