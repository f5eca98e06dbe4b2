"""The tamper watch looks at about one frame a second while the view is settled
(edge/analysis/tamperpace.py), and at every frame as soon as anything may be happening to it:
through the analyzer (the real motion gate) the tampering and darkness scenes of
test_lowlight.py raise the same occurrences, with the same reasons, as the watch fed every
frame. Frames from tests/lowlight.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pytest
from conftest import SHARED
from lowlight import Img, cover, fade, scene, spray
from nodecfg import video_camera

from edge.analysis.analyzer import Analyzer
from edge.analysis.motion.base import MotionResult
from edge.analysis.observation import Observation
from edge.analysis.tamper import TamperWatch
from edge.analysis.tamperpace import TamperPace
from edge.capture.frame import Frame

FPS = 5.0
LIT = scene()
BLACK = np.zeros_like(LIT)


def _every_frame(frames: Sequence[Img]) -> list[Observation]:
    w = TamperWatch()
    out: list[Observation] = []
    for i, f in enumerate(frames):
        out += w.update(f, i / FPS, 1000.0 + i / FPS)
    return out


def _analyzer() -> Analyzer:
    video = SHARED / "data" / "videos" / "one-by-one-person-detection.mp4"
    return Analyzer(video_camera(video, "[cameras.detection]\nenabled = false"))


def _paced(frames: Sequence[Img]) -> tuple[list[Observation], Analyzer]:
    an = _analyzer()
    out: list[Observation] = []
    for i, f in enumerate(frames):
        frame = Frame("cam", i, i / FPS, 100.0 + i / FPS, 1000.0 + i / FPS, f)
        out += [o for o in an.process(frame) if o.kind != "motion"]
    return out, an


def _said(events: list[Observation]) -> list[tuple[str, str, str]]:
    return [(str(e.kind), str(e.state), str(e.data.get("reason", ""))) for e in events]


def _closing(level: float, side: Literal["left", "top"]) -> list[Img]:
    closing = [cover(LIT, k / 5, level, side=side, seed=k) for k in range(1, 5)]
    covered = [cover(LIT, 1.0, level, seed=100 + i) for i in range(5)] * 10  # noise cycles
    return [LIT] * 50 + closing + covered + [LIT] * 50


def _sprayed() -> list[Img]:
    spraying = [spray(LIT, k / 10, 5.0, seed=k) for k in range(1, 11)]
    return [LIT] * 50 + spraying + [spray(LIT, 1.0, 5.0, seed=100 + i) for i in range(5)] * 10


SCENES: dict[str, Callable[[], list[Img]]] = {
    "black-cloth-side": lambda: _closing(3.0, "left"),
    "black-cloth-top": lambda: _closing(3.0, "top"),
    "lit-hand": lambda: _closing(90.0, "left"),
    "black-paint": _sprayed,
    "lights-out-instantly": lambda: [LIT] * 50 + [BLACK] * 40 + [LIT] * 50,
    "lights-fading": lambda: (
        [LIT] * 50 + [fade(LIT, 1 - k / 5) for k in range(5)] + [BLACK] * 40 + [LIT] * 50
    ),
    "moved": lambda: [LIT] * 50 + [scene(seed=99)] * 40 + [LIT] * 50,
}


@pytest.mark.parametrize("name", list(SCENES))
def test_paced_watch_raises_what_every_frame_raises(name: str) -> None:
    """Each scene through the analyzer (the watch paced by the motion gate) raises the same
    occurrences with the same reasons as the watch fed every frame, each START at most one
    settled look (1 s) later."""
    frames = SCENES[name]()
    want = _every_frame(frames)
    got, _ = _paced(frames)
    assert want, "the scene raises something"
    assert _said(got) == _said(want)
    for g, w in zip(got, want, strict=True):
        assert w.stream_time - 0.01 <= g.stream_time <= w.stream_time + 1.21


def test_a_settled_view_is_looked_at_about_once_a_second() -> None:
    """60 s of an unchanging lit view at 5 fps: after learning (ten frames), about one look a
    second, not five; nothing raised."""
    got, an = _paced([LIT] * 300)
    assert got == []
    looks = an.stats.tamper_frames
    assert 10 + 45 <= looks <= 10 + 65, looks
    assert an.tamper_pace.skipped == 300 - looks


def test_pace_looks_at_every_frame_while_the_view_changes() -> None:
    """The pace's rules on their own: a lighting change, much of the view changed, a
    brightness step, or a watch that is not settled each make the frame looked at; a quiet
    settled frame within the second is skipped, and the next look stands for the skipped
    frames too."""
    pace = TamperPace()
    quiet = MotionResult(False, (), 0.01, False, 90.0)
    assert pace.due(0.0, quiet, settled=True) == 1  # the first frame
    assert pace.due(0.2, quiet, settled=True) == 0
    assert pace.due(0.4, MotionResult(False, (), 0.0, True, 90.0), settled=True) == 2
    assert pace.due(0.6, MotionResult(True, ((0, 0, 9, 9),), 0.3, False, 90.0), settled=True)
    assert pace.due(0.8, MotionResult(False, (), 0.0, False, 70.0), settled=True) == 1
    assert pace.due(1.0, quiet, settled=False) == 1
    assert pace.due(1.2, quiet, settled=True) == 0
    assert pace.due(1.4, quiet, settled=True) == 0
    assert pace.due(2.0, quiet, settled=True) == 3  # a second after the last look
