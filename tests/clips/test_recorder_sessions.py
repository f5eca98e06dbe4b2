"""A masked camera reconnects in the middle of a clip: its frames' stream time restarts at 0,
so the clip ends there (stream_restart) and the next one starts from a fresh encoder on a
keyframe; no clip mixes two sessions' times."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise

import synth

from edge.capture.frame import Frame, Role
from edge.clips.recorder import ClipJob, ClipRecorder
from edge.config.clips import ClipConfig


def _frames(session: int, n: int, seq0: int) -> list[Frame]:
    now = time.monotonic()
    return [
        Frame(
            "hall",
            seq0 + i,
            i / 10,
            now + i / 10,
            time.time(),
            synth.frame(i),
            Role.RECORD,
            session,
        )
        for i in range(n)
    ]


def test_a_new_session_ends_the_clip_and_restarts_the_encoder() -> None:
    """Session 1 held from frame 5, session 2 begins: one clip ends with stream_restart, its
    packets' times only rise; the clip of session 2 starts on a keyframe at time 0."""
    jobs: list[ClipJob] = []
    rec = ClipRecorder(
        "hall", ClipConfig(pre_roll_s=1, post_roll_s=1, keyframe_s=1), jobs.append, live=False,
        fps=10,
    )  # fmt: skip
    first, second = _frames(1, 30, 0), _frames(2, 30, 30)
    for f in first[:10]:
        rec.feed(f)
    _wait(lambda: rec.info is not None)
    assert rec.hold("door", "ev-1") is not None
    for f in first[10:] + second[:20]:
        rec.feed(f)
    _wait(lambda: any(j.reason == "stream_restart" for j in jobs))
    assert rec.hold("door", "ev-2") is not None
    for f in second[20:]:
        rec.feed(f)
    rec.close()
    restart = next(j for j in jobs if j.reason == "stream_restart")
    assert all(b.pts >= a.pts for a, b in pairwise(restart.packets))
    later = [j for j in jobs if j is not restart]
    assert later and later[-1].packets[0].keyframe
    assert all(b.pts >= a.pts for j in later for a, b in pairwise(j.packets))


def _wait(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")
