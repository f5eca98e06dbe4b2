"""Darkness is not tampering: a room going dark (noisy, flat black, fading, bank by bank, with
a person in it) raises ``lights_off`` (info) and never ``camera_tampered``; a lens covered or
sprayed does raise ``camera_tampered`` within the hold time. Frames from tests/lowlight.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import jsonschema
import numpy as np
import pytest
from conftest import ROOT
from lowlight import Img, Noise, cover, darken, fade, scene, spray
from nodecfg import video_camera

from edge.analysis.analyzer import Analyzer
from edge.analysis.observation import Observation
from edge.analysis.tamper import TamperWatch
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.core.kinds import Kind, Severity, State
from edge.events.camera import SEVERITY, CameraEvents
from edge.events.context import EventFactory
from edge.events.model import Event

FPS = 5.0
LIT = scene()


def _run(frames: Sequence[Img]) -> list[Observation]:
    w = TamperWatch()
    out: list[Observation] = []
    for i, f in enumerate(frames):
        out += w.update(f, i / FPS, 1000.0 + i / FPS)
    return out


def _seconds(s: float, make: Callable[[int], Img]) -> list[Img]:
    """*s* seconds of frames, frame i made by *make(i)*."""
    return [make(i) for i in range(round(s * FPS))]


def _dark(mean: float, noise: Noise = "gaussian", seed: int = 0) -> Img:
    """The scene in the dark, noise differing from frame to frame (a cycle of ten frames per
    level, made once: Poisson noise on a 640x360 frame is slow to make)."""
    return _dark_made(mean, noise, seed % 10)


@cache
def _dark_made(mean: float, noise: Noise, seed: int) -> Img:
    out = darken(LIT, mean, noise, seed=seed)
    out.setflags(write=False)
    return out


def _said(events: list[Observation]) -> list[tuple[str, str]]:
    return [(str(e.kind), str(e.state)) for e in events]


def _with_person(image: Img, x: int) -> Img:
    """*image* with a person (a dark coat, a lighter face) standing at *x*."""
    out = image.copy()
    cv2.rectangle(out, (x, 150), (x + 40, 330), (40, 45, 50), -1)
    cv2.circle(out, (x + 20, 130), 16, (150, 160, 180), -1)
    return out


@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
@pytest.mark.parametrize("mean", [2.0, 3.0, 5.0])
def test_dark_noisy_room_is_lights_off(mean: float, noise: Noise) -> None:
    """Ten lit seconds, twenty in the dark (the scene at mean grey 2-5 with sensor noise that
    differs from frame to frame), ten lit: one lights_off START after the hold, its END
    after the lights are back, severity info, never camera_tampered."""
    frames = [LIT] * 50 + _seconds(20, lambda i: _dark(mean, noise, i)) + [LIT] * 50
    events = _run(frames)
    assert _said(events) == [("lights_off", "start"), ("lights_off", "end")]
    start, end = events
    assert 15.0 <= start.data["stream_time"] <= 16.2  # 10 s lit + 5 s hold
    assert 35.0 <= end.data["stream_time"] <= 36.2
    assert end.occurrence == start.occurrence
    assert SEVERITY[Kind.LIGHTS_OFF] is Severity.INFO


@pytest.mark.parametrize(
    "going_dark",
    [
        [],  # switched off between two frames (the old blackout case: now lights_off)
        [fade(LIT, g) for g in (0.8, 0.5, 0.25, 0.1, 0.04)],  # fading out in 1 s
    ],
    ids=["instant", "fading"],
)
def test_lights_going_out_to_flat_black_is_lights_off(going_dark: list[Img]) -> None:
    """Lights out to a flat 0 with no noise at all (what the encoder makes of a dark room in
    alternating-light.h264, and what a taped lens looks like): with no sign of anything
    closing over the lens it is lights_off, START after the hold, END when lit again."""
    black = np.zeros_like(LIT)
    frames = [LIT] * 50 + going_dark + [black] * 40 + [LIT] * 50
    events = _run(frames)
    assert _said(events) == [("lights_off", "start"), ("lights_off", "end")]


def test_dark_room_with_a_person_walking_is_not_tampering() -> None:
    """A person walking through the dark room (noisy, mean 3) for 12 s: lights_off, no
    camera_tampered (the old covered alarm that never ended)."""
    dark = _seconds(12, lambda i: darken(_with_person(LIT, 40 + 10 * i), 3.0, seed=i))
    events = _run([LIT] * 50 + dark + [LIT] * 50)
    assert _said(events) == [("lights_off", "start"), ("lights_off", "end")]


@pytest.mark.parametrize("mean", [18.0, 25.0, 40.0])
def test_dim_room_with_a_person_raises_nothing(mean: float) -> None:
    """The room dimmed (mean grey 18-40, low std, shot and read noise) with a person walking
    in it for 12 s, then lit again: it is neither dark nor tampered; nothing is raised."""
    dim = _seconds(
        12, lambda i: darken(_with_person(LIT, 40 + 10 * i), mean, "poisson", 1.0, seed=i)
    )
    assert _run([LIT] * 50 + dim + [LIT] * 50) == []


def test_part_of_the_room_staying_lit_raises_no_tampering() -> None:
    """Lights off except a window (or emergency light) bright in a corner: the view is not
    dark as a whole and still shows the scene; no camera_tampered."""

    def night(i: int) -> Img:
        out = _dark(3.0, "poisson", i).copy()
        out[0:200, 300:640] = 200
        return out

    events = _run([LIT] * 50 + _seconds(12, night) + [LIT] * 50)
    assert Kind.CAMERA_TAMPERED not in {e.kind for e in events}


def test_lights_going_out_bank_by_bank_is_lights_off() -> None:
    """Half the room goes dark, then the rest 0.4 s later (two switches): the dark half keeps
    its structure, so this is not something closing over the lens."""
    half = LIT.copy()
    half[:, :320] = darken(LIT[:, :320], 4.0, seed=1)
    dark = _seconds(20, lambda i: _dark(3.0, seed=i))
    events = _run([LIT] * 50 + [half, half] + dark + [LIT] * 50)
    assert _said(events) == [("lights_off", "start"), ("lights_off", "end")]


@pytest.mark.parametrize(
    "level,side,reason",
    [
        (3.0, "left", "blackout"),  # a black cloth, from the side
        (3.0, "top", "blackout"),  # a black cloth, from above
        (90.0, "left", "covered"),  # a lit hand
    ],
    ids=["black-cloth-side", "black-cloth-top", "hand"],
)
def test_covering_the_lens_is_tampering(
    level: float, side: Literal["left", "top"], reason: str
) -> None:
    """A hand or cloth closing over the lens in 1 s (five frames, each covering more), held
    there 10 s, then taken away: camera_tampered within 5 s (+ 0.4 s) of the lens being
    covered, with its reason; its END after the hold once the scene is back."""
    closing = [cover(LIT, k / 5, level, side=side, seed=k) for k in range(1, 5)]
    covered = _seconds(10, lambda i: cover(LIT, 1.0, level, seed=100 + i))
    frames = [LIT] * 50 + closing + covered + [LIT] * 50
    events = _run(frames)
    assert [(str(e.kind), str(e.state), e.data["reason"]) for e in events] == [
        ("camera_tampered", "start", reason),
        ("camera_tampered", "end", reason),
    ]
    covered_at = (50 + len(closing)) / FPS
    assert covered_at + 4.0 <= events[0].data["stream_time"] <= covered_at + 5.4
    assert SEVERITY[events[0].kind] is Severity.ALARM


@pytest.mark.parametrize(
    "haze,reasons",
    [(140.0, {"covered", "defocused"}), (5.0, {"blackout"})],
    ids=["light-paint", "black-paint"],
)
def test_spraying_the_lens_is_tampering(haze: float, reasons: set[str]) -> None:
    """Paint sprayed over 2 s (the view blurring and veiling while the room stays lit), left
    10 s: camera_tampered within 5 s (+ 0.4 s) of the spraying ending; light paint leaves a
    veiled or blurred view, black paint a dark one reached through a blurring view
    (blackout, not lights_off)."""
    spraying = [spray(LIT, k / 10, haze, seed=k) for k in range(1, 11)]
    sprayed = _seconds(10, lambda i: spray(LIT, 1.0, haze, seed=100 + i))
    events = _run([LIT] * 50 + spraying + sprayed)
    assert [(str(e.kind), str(e.state)) for e in events] == [("camera_tampered", "start")]
    assert events[0].data["reason"] in reasons
    assert events[0].data["stream_time"] <= (50 + len(spraying)) / FPS + 5.4


def test_darkness_after_tampering_stays_tampering() -> None:
    """A lit hand over the lens, then the lights go off, then on again with the hand gone:
    one camera_tampered occurrence from the cover to the scene seen again, no lights_off."""
    covered = _seconds(8, lambda i: cover(LIT, 1.0, 90.0, seed=i))
    frames = [LIT] * 50 + covered + [np.zeros_like(LIT)] * 50 + [LIT] * 50
    events = _run(frames)
    assert _said(events) == [("camera_tampered", "start"), ("camera_tampered", "end")]
    assert events[1].data["stream_time"] >= (50 + 40 + 50) / FPS + 5.0


def test_lights_off_then_lit_but_covered_is_tampering() -> None:
    """The lights go off, then on again with a hand over the lens: lights_off ends and
    camera_tampered (covered) starts once each has held."""
    dark = _seconds(10, lambda i: _dark(3.0, seed=i))
    covered = _seconds(10, lambda i: cover(LIT, 1.0, 90.0, seed=i))
    events = _run([LIT] * 50 + dark + covered)
    assert _said(events) == [
        ("lights_off", "start"),
        ("lights_off", "end"),
        ("camera_tampered", "start"),
    ]
    assert events[1].stream_time == events[2].stream_time


def test_lights_back_dimmer_ends_lights_off() -> None:
    """Lights off, then back at a third of their brightness (a night light): lights_off ends
    after the hold and nothing else is raised (no tampering that never ends)."""
    dark = _seconds(10, lambda i: _dark(3.0, seed=i))
    dim = _seconds(20, lambda i: _dark(32.0, seed=i))
    events = _run([LIT] * 50 + dark + dim)
    assert _said(events) == [("lights_off", "start"), ("lights_off", "end")]


def test_lights_off_event_matches_the_schema() -> None:
    """A lights_off START as an event: severity info, kind in the event schema."""
    events = _run([LIT] * 50 + _seconds(6, lambda i: _dark(3.0, seed=i)))
    assert _said(events) == [("lights_off", "start")]
    seen = events[0]
    event = EventFactory("n", "s").make(
        seen.kind,
        SEVERITY[seen.kind],
        State.START,
        seen.occurrence,
        ts=seen.wall,
        camera="cam",
        data={**seen.data, "session": 1, "frame_time": "2026-11-29T00:00:00.000Z"},
    )
    schema = json.loads((ROOT / "edge" / "schemas" / "event.schema.json").read_text())
    jsonschema.validate(event.to_dict(), schema)
    assert event.to_dict()["severity"] == "info"


def test_per_frame_cost_is_small() -> None:
    """Tamper analysis of a 640x360 frame (grey 160-px image, structure, sharpness, cells),
    printed per frame; a loose bound so a loaded machine does not fail it."""
    w = TamperWatch()
    frames = [_dark(90.0, seed=i) for i in range(10)]
    for i, f in enumerate(frames):  # learn first
        w.update(f, i / FPS, 0.0)
    n = 200
    t0 = time.perf_counter()
    for i in range(n):
        w.update(frames[i % 10], (10 + i) / FPS, 0.0)
    ms = (time.perf_counter() - t0) / n * 1000
    print(f"\ntamper: {ms:.2f} ms per 640x360 frame")
    assert ms < 20.0


def _video_events(path: Path, slower: int = 1) -> list[Event]:
    """*path* through the analyzer (5 fps, no detector) as events; *slower* times slower
    (each frame shown that many times), so that its lit and dark spells outlast the hold."""
    cam = video_camera(path)
    events_of = CameraEvents(Analyzer(cam), EventFactory("n", "s"))
    events: list[Event] = []
    n, last = 0, None
    for f in FileInput("cam", path, analysis_fps=5).stream():
        if not isinstance(f, Frame):
            continue
        for _ in range(slower):
            last = Frame("cam", n, n / FPS, 100.0 + n / FPS, 1.7e9 + n / FPS, f.image)
            events += events_of.process(last)
            n += 1
    return events + events_of.finish(last)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["light-dark.h264", "alternating-light.h264"])
def test_sample_videos_of_lights_raise_no_tampering(videos: Path, name: str) -> None:
    """The lights going off (light-dark.h264) and switching (alternating-light.h264) through
    the analyzer: no camera_tampered; motion and lights_off at most; every event matches the
    schema."""
    events = _video_events(videos / name)
    schema = json.loads((ROOT / "edge" / "schemas" / "event.schema.json").read_text())
    for e in events:
        jsonschema.validate(e.to_dict(), schema)
    assert {str(e.kind) for e in events} <= {"motion", "lights_off"}


@pytest.mark.slow
def test_real_dark_spells_longer_than_the_hold_are_lights_off(videos: Path) -> None:
    """alternating-light.h264 at half speed (dark spells of 6-8 s, a real camera's fade to a
    flat 0, and lit spells as long): each dark spell raises lights_off START and its END,
    severity info; never camera_tampered."""
    events = _video_events(videos / "alternating-light.h264", slower=2)
    assert "camera_tampered" not in {str(e.kind) for e in events}
    lights = [(str(e.state), e.occurrence) for e in events if e.kind == "lights_off"]
    starts = [o for s, o in lights if s == "start"]
    assert len(starts) >= 4
    assert lights == [(s, o) for o in starts for s in ("start", "end")]
    assert all(e.severity == "info" for e in events if e.kind == "lights_off")
