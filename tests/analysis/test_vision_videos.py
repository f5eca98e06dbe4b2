"""Vision on real footage (../shared/data): person events where people are, none where
there are none, the detector gated by motion, and privacy masks honoured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED
from nodecfg import video_camera

from edge.analysis.analyzer import AnalysisStats, Analyzer
from edge.analysis.detect.onnx import OnnxDetector
from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.capture.privacy import MaskSpec
from edge.cli.main import main
from edge.config.cameras import CameraConfig
from edge.events.camera import CameraEvents
from edge.events.context import EventFactory
from edge.events.model import Event

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
TUD = SHARED / "data" / "gt" / "TUD-Campus"


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    """The yolox_nano person detector with the node's default settings."""
    return OnnxDetector(MODEL, score=0.3, nms_iou=0.55)


def _camera(video: Path, extra: str = "") -> CameraConfig:
    return video_camera(video, extra)


def run_video(
    video: Path, detector: OnnxDetector, extra: str = "", *, behind: bool = False
) -> tuple[list[Event], AnalysisStats]:
    """Every event the analysis of *video* produces, and its statistics; *behind*: every
    frame analysed as a live camera's behind real time (the detector sheds follow-ups)."""
    cam = _camera(video, extra)
    spec = MaskSpec.from_config(cam)
    an = CameraEvents(
        Analyzer(cam, detector=detector),
        EventFactory("n", "s"),
        mask_hash=spec.digest if spec else None,
    )
    events: list[Event] = []
    last = None
    an.analyzer.behind = behind
    for item in FileInput("cam", video, analysis_fps=cam.fps, mask=spec).stream():
        if isinstance(item, Frame):
            events += an.process(item)
            last = item
    events += an.finish(last)
    return events, an.analyzer.stats


def _starts(events: list[Event]) -> list[float]:
    return [
        float(e.data["stream_time"]) for e in events if e.kind == "person" and e.state == "start"
    ]


def test_eval_tud_campus_meets_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """`edge eval` with yolox_nano, min height 100 px, IoU 0.5: precision >= 0.85, recall
    >= 0.78 on TUD-Campus."""
    assert (
        main(["eval", "--gt", str(TUD), "--min-height", "100", "--model", str(MODEL), "--json"])
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["gt"] == 359 and r["frames"] == 71
    assert r["precision"] >= 0.85, r
    assert r["recall"] >= 0.78, r


@pytest.mark.slow
def test_tiles_find_more_of_tud_campus_with_fewer_false_alarms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--tiles` (the frame plus full-resolution tiles at the model's input size) raises
    both precision and recall over the whole frame alone, with the same settings."""
    argv = ["eval", "--gt", str(TUD), "--min-height", "100", "--model", str(MODEL), "--json"]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "--tiles"]) == 0
    tiled = json.loads(capsys.readouterr().out)
    assert tiled["recall"] > plain["recall"], (plain, tiled)
    assert tiled["precision"] > plain["precision"], (plain, tiled)


def test_eval_rejects_a_folder_that_is_not_a_sequence(tmp_path: Path) -> None:
    """A folder without gt/gt.txt is refused, naming what is missing."""
    (tmp_path / "img1").mkdir()
    assert main(["eval", "--gt", str(tmp_path), "--model", str(MODEL)]) == 1


@pytest.mark.slow
def test_one_person_one_event_at_each_arrival(videos: Path, detector: OnnxDetector) -> None:
    """one-by-one: a person event starts within 1 s of each of the six arrivals, none
    outside the presence intervals (1 s tolerance), exactly one per person."""
    presence = json.loads((videos / "presence.json").read_text())["one-by-one-person-detection.mp4"]
    fps = presence["fps"]
    intervals = [(a / fps, b / fps) for a, b in presence["person_intervals"]]
    events, stats = run_video(videos / "one-by-one-person-detection.mp4", detector)
    starts = _starts(events)
    assert len(starts) == 6, starts
    assert stats.behind_frames == 0
    for a, _b in intervals:
        assert any(a - 1.0 <= s <= a + 1.0 for s in starts), (a, starts)
    for s in starts:
        assert any(a - 1.0 <= s <= b + 1.0 for a, b in intervals), (s, intervals)
    ends = [e for e in events if e.kind == "person" and e.state == "end"]
    assert len(ends) == len(starts)  # every track closed


@pytest.mark.slow
@pytest.mark.parametrize("name", ["car-detection.mp4", "alternating-light.h264", "light-dark.h264"])
def test_no_person_events_without_people(name: str, videos: Path, detector: OnnxDetector) -> None:
    """Cars, lights switched on and off, lights going out: no person event; cars passing run
    the detector on at most 20% of analysed frames."""
    events, stats = run_video(videos / name, detector)
    assert _starts(events) == []
    assert stats.frames > 40
    if name == "car-detection.mp4":
        assert stats.detector_calls <= 0.20 * stats.frames, stats


@pytest.mark.slow
def test_light_switching_barely_wakes_the_detector(videos: Path, detector: OnnxDetector) -> None:
    """alternating-light.h264: the detector runs on at most 5% of analysed frames."""
    _, stats = run_video(videos / "alternating-light.h264", detector)
    assert stats.frames >= 160
    assert stats.detector_calls <= 0.05 * stats.frames, stats


@pytest.mark.slow
def test_behind_real_time_the_detector_runs_less_and_finds_the_same_people(
    videos: Path, detector: OnnxDetector
) -> None:
    """walking-by analysed as a live camera's behind real time all along (an overloaded
    node: the detector sheds its follow-up runs): fewer detector runs (18 -> 13 measured),
    the same two people, each starting within 1 s of when it starts in time. (one-by-one:
    243 -> 165 runs, the same six events.)"""
    in_time, normal = run_video(videos / "walking-by.h264", detector)
    shed, behind = run_video(videos / "walking-by.h264", detector, behind=True)
    assert behind.behind_frames == behind.frames and normal.behind_frames == 0
    assert behind.detector_calls < normal.detector_calls, (behind, normal)
    a, b = _starts(in_time), _starts(shed)
    assert len(a) == len(b) == 2
    assert all(abs(x - y) <= 1.0 for x, y in zip(a, b, strict=True)), (a, b)


@pytest.mark.slow
def test_person_inside_a_privacy_mask_is_never_detected(
    videos: Path, detector: OnnxDetector
) -> None:
    """walking-by: two person events; with the doorway they walk through masked, none."""
    plain, _ = run_video(videos / "walking-by.h264", detector)
    assert len(_starts(plain)) == 2
    mask = (
        'privacy_masks = [{ name = "far doorway", points = [[180, 120], [600, 120], '
        "[600, 480], [180, 480]] }]\nresolution = [640, 480]"
    )
    masked, _ = run_video(videos / "walking-by.h264", detector, mask)
    assert _starts(masked) == []
    assert all(e.mask_hash and len(e.mask_hash) == 64 for e in masked)


@pytest.mark.slow
def test_zones_travel_with_person_events(videos: Path, detector: OnnxDetector) -> None:
    """A zone over the right half: events of people who stood there name it."""
    zone = (
        'zones = [{ name = "right-half", points = [[384, 0], [768, 0], [768, 432], '
        "[384, 432]] }]\nresolution = [768, 432]"
    )
    events, _ = run_video(videos / "one-by-one-person-detection.mp4", detector, zone)
    ends = [e for e in events if e.kind == "person" and e.state == "end"]
    assert ends and all("right-half" in e.zones for e in ends)  # they all leave that way


@pytest.mark.slow
def test_bench_vision_reports_figures(videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge bench vision --json` reports every figure the issue asks for."""
    assert (
        main(
            [
                "bench",
                "vision",
                str(videos / "one-by-one-person-detection.mp4"),
                "--model",
                str(MODEL),
                "--json",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    for key in (
        "frames",
        "decode_ms_per_frame",
        "motion_ms_per_frame",
        "detector_calls",
        "detector_share",
        "ms_per_detector_call",
        "cpu_s_per_video_s",
        "peak_rss_mb",
        "x_realtime",
    ):
        assert r[key] > 0, key
    assert r["frames"] == 697 and r["person_events"] == 6
    # every occurrence with its start and end stream time, for scripts against ground truth
    persons = [s for s in r["events"] if s["kind"] == "person"]
    assert len(persons) == 6 and all(s["start"] < s["end"] for s in persons)
    arrivals = (6.1, 22.8, 50.6, 74.5, 92.5, 123.7)
    assert all(abs(s["start"] - a) < 2.0 for s, a in zip(persons, arrivals, strict=True))
    print(
        f"bench vision: {r['x_realtime']}x real time, {r['cpu_s_per_video_s']} CPU s per "
        f"video s, {r['detector_calls']} detector calls"
    )
