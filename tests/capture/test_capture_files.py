"""File inputs: every shared sample plays to its last frame with sensible timestamps; bad files
end cleanly with a message that names them."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from edge.capture.base import SourceError
from edge.capture.file import FileInput
from edge.capture.frame import Frame, Packet, Role, StreamInfo
from edge.capture.timing import Sampler, Timeline

# name -> (frames, frame rate the timestamps must follow)
SAMPLES = {
    "one-by-one-person-detection.mp4": (1394, 10.0),
    "car-detection.mp4": (377, 12.5),
    "preview_people-detection.gif": (23, None),
    "alternating-light.h264": (838, 25.0),
    "light-dark.h264": (230, 25.0),
    "walking-by.h264": (463, 25.0),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_plays_to_its_last_frame(name: str, videos: Path) -> None:
    """All frames come out, in order, with timestamps starting at 0 and rising at the
    stream's rate (raw .h264: the configured/assumed 25 fps, never container guesses)."""
    frames_expected, fps = SAMPLES[name]
    inp = FileInput("cam", videos / name)
    frames = [f for f in inp.stream() if isinstance(f, Frame)]
    assert len(frames) == frames_expected
    assert [f.seq for f in frames] == list(range(frames_expected))
    pts = [f.pts for f in frames]
    assert pts[0] == 0.0
    assert all(b > a for a, b in pairwise(pts))
    if fps is not None:
        assert pts[-1] == pytest.approx((frames_expected - 1) / fps, abs=0.05)
    else:  # GIF: per-frame delays; just sensible
        assert 0.5 < pts[-1] < 10
    assert all(f.image.dtype.name == "uint8" and f.image.ndim == 3 for f in frames[:3])
    assert frames[-1].mono >= frames[0].mono


def test_presence_json_agrees_with_frame_counts(videos: Path) -> None:
    """The ground-truth file and the decoder agree on how long each clip is."""
    presence = json.loads((videos / "presence.json").read_text())
    for name, (count, _) in SAMPLES.items():
        assert presence[name]["frames"] == count


def test_analysis_rate_subsamples_by_time(videos: Path) -> None:
    """At 5 fps from a 10 fps file every other frame is analysed; of the others, those no
    frame refers to (this clip's non-reference B-frames) are not even decoded."""
    inp = FileInput("cam", videos / "one-by-one-person-detection.mp4", analysis_fps=5)
    frames = [f for f in inp.stream() if isinstance(f, Frame)]
    assert len(frames) == 697
    assert 697 <= inp.frames_decoded < 1394
    assert frames[1].pts == pytest.approx(0.2)


def test_record_role_passes_packets_without_decoding(videos: Path) -> None:
    """RECORD alone: a StreamInfo, then every packet with keyframe flags; nothing decoded."""
    inp = FileInput("cam", videos / "one-by-one-person-detection.mp4", roles=Role.RECORD)
    items = list(inp.stream())
    info = items[0]
    assert isinstance(info, StreamInfo)
    assert (info.codec, info.width, info.height) == ("h264", 768, 432)
    # mp4 stores avcC; the record role hands on Annex B with SPS/PPS, like every other input
    assert info.annexb and info.extradata and info.extradata.startswith(b"\0\0\0\1")
    packets = [p for p in items[1:] if isinstance(p, Packet)]
    assert len(packets) == len(items) - 1 == 1394
    assert packets[0].keyframe
    assert sum(p.keyframe for p in packets) == 140
    assert inp.frames_decoded == 0


def test_raw_h264_record_packets_are_annexb(videos: Path) -> None:
    """A raw .h264 stream's packets carry their own parameter sets and 25 fps timing."""
    inp = FileInput("cam", videos / "light-dark.h264", roles=Role.RECORD)
    items = list(inp.stream())
    info = items[0]
    assert isinstance(info, StreamInfo) and info.annexb
    packets = [p for p in items if isinstance(p, Packet)]
    assert packets[0].keyframe and packets[0].data[:4] in (b"\0\0\0\1", b"\0\0\1\x67")
    assert packets[-1].pts == pytest.approx((len(packets) - 1) / 25)


def test_both_roles_from_one_input(videos: Path) -> None:
    """One input serves both roles: packets for every frame, frames at the analysis rate."""
    inp = FileInput(
        "cam", videos / "car-detection.mp4", roles=Role.DETECT | Role.RECORD, analysis_fps=5
    )
    items = list(inp.stream())
    packets = [i for i in items if isinstance(i, Packet)]
    frames = [i for i in items if isinstance(i, Frame)]
    assert len(packets) == 377
    assert 145 <= len(frames) <= 152  # 30 s at 5 fps


def test_truncated_file_ends_cleanly_with_a_message(videos: Path, tmp_path: Path) -> None:
    """Half a raw stream: the frames that are there come out, then the input just ends."""
    data = (videos / "walking-by.h264").read_bytes()
    cut = tmp_path / "cut.h264"
    cut.write_bytes(data[: len(data) // 2])
    frames = [f for f in FileInput("cam", cut).stream() if isinstance(f, Frame)]
    assert 100 < len(frames) < 463


def test_truncated_mp4_plays_what_is_there_then_ends(videos: Path, tmp_path: Path) -> None:
    """car-detection.mp4 has its index (moov) at the front: cut to a third, the frames whose
    data is there play and the input ends at the cut, without an error."""
    data = (videos / "car-detection.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    frames = [f for f in FileInput("cam", cut).stream() if isinstance(f, Frame)]
    assert 377 // 6 < len(frames) < 377 * 2 // 3  # about a third of the 377 frames


def test_mp4_without_its_index_is_a_clear_error(videos: Path, tmp_path: Path) -> None:
    """An mp4 whose index is lost (cut before it: only the first bytes) is a SourceError
    naming the file and the reason."""
    data = (videos / "car-detection.mp4").read_bytes()
    cut = tmp_path / "head.mp4"
    cut.write_bytes(data[:2048])
    with pytest.raises(SourceError) as info:
        list(FileInput("cam", cut).stream())
    assert str(cut) in str(info.value)
    assert info.value.reason in {"open_failed", "decode_failed"}


def test_not_a_video_and_missing_file(tmp_path: Path) -> None:
    """Garbage and absent files raise SourceError naming the camera and the file."""
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(SourceError, match=r"camera 'cam'.*junk.mp4"):
        list(FileInput("cam", junk).stream())
    with pytest.raises(SourceError, match="file not found"):
        list(FileInput("cam", tmp_path / "absent.mp4").stream())


def test_timeline_and_sampler() -> None:
    """Timestamps start at zero; without them the index over the rate is used; the sampler
    keeps the analysis rate even when frames arrive irregularly."""
    from fractions import Fraction

    t = Timeline(Fraction(1, 90000), 10.0, trust_pts=True)
    assert t.at(900000, 0) == 0.0 and t.at(909000, 1) == pytest.approx(0.1)
    raw = Timeline(None, None, trust_pts=True)
    assert [raw.at(None, i) for i in range(3)] == [0.0, 0.04, 0.08]
    s = Sampler(5.0)
    picked = [x / 10 for x in range(20) if s.due(x / 10)]
    assert picked == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8])
