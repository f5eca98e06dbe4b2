"""Frames analysis will not take, and no other frame refers to, are not decoded: analysis gets
the very same frames (times and pixels) for less decoding."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from edge.capture.file import FileInput
from edge.capture.frame import Frame, Role
from edge.capture.privacy import MaskSpec
from edge.capture.timing import Sampler

FRAMES = 60


def _clip_with_b_frames(path: Path) -> Path:
    """A 6 s, 10 fps H.264 clip with non-reference B-frames: a moving bar on a gradient."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {"bf": "2", "b-pyramid": "none", "g": "30", "crf": "20"}
        base = np.tile(np.linspace(30, 220, 160, dtype=np.uint8), (96, 1))
        for n in range(FRAMES):
            img = np.dstack([base, base[::-1], base]).copy()
            img[20:70, (n * 2) % 150 : (n * 2) % 150 + 10] = (255, 40, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The B-frame clip, made once for the module."""
    return _clip_with_b_frames(tmp_path_factory.mktemp("bframes") / "b.mp4")


def test_unused_frames_are_not_decoded_and_analysis_sees_the_same(clip: Path) -> None:
    """At 5 fps from 10 fps: the same frames at the same times with the same pixels as when
    every frame is decoded and sampled, with fewer frames decoded."""
    every = FileInput("cam", clip)  # no analysis rate: every frame decoded and handed on
    all_frames = [f for f in every.stream() if isinstance(f, Frame)]
    assert every.frames_decoded == len(all_frames) == FRAMES
    sampler = Sampler(5)
    expected = [(f.pts, f.image.tobytes()) for f in all_frames if sampler.due(f.pts)]

    sampled = FileInput("cam", clip, analysis_fps=5)
    got = [(f.pts, f.image.tobytes()) for f in sampled.stream() if isinstance(f, Frame)]
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert got == expected, "a frame analysis takes differs when unused frames are skipped"
    assert sampled.frames_decoded <= FRAMES - 5, f"{sampled.frames_decoded} decoded"


def test_clips_from_decoded_frames_keep_every_frame(clip: Path) -> None:
    """A camera whose clips are encoded from decoded (masked) frames needs every frame: none
    is skipped."""
    mask = MaskSpec("cam", (160, 96), (("door", ((0.0, 0.0), (30.0, 0.0), (30.0, 30.0))),))
    inp = FileInput("cam", clip, roles=Role.DETECT | Role.RECORD, analysis_fps=5, mask=mask)
    frames = [f for f in inp.stream() if isinstance(f, Frame)]
    assert inp.frames_decoded == len(frames) == FRAMES
    assert sum(Role.DETECT in f.roles for f in frames) == FRAMES // 2
