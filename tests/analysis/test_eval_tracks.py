"""`edge eval`'s track measures: IDF1, ID switches, fragmentations (motmetrics) and events per
true person, on a made ground truth and made tracker output counted by hand, through the real
tracker on made detections, and on TUD-Campus with the README's command."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, SHARED

from edge.analysis.detect.base import Detection
from edge.analysis.evaluate import DetectorRun, GroundTruth
from edge.analysis.evaluate_tracks import TrackOutput, make_tracker, run_tracker, score_tracks
from edge.cli.main import main
from edge.config.detection import CameraDetectionConfig

A = Detection(10, 10, 50, 120, 1.0)  # person 1
B = Detection(300, 10, 50, 120, 1.0)  # person 2, far from A
C = Detection(500, 200, 40, 90, 1.0)  # person 3: shorter than 100 px, an ignore region
NOBODY = Detection(150, 250, 50, 120, 0.9)  # a box where no one is
FRAMES = range(1, 9)


def made_truth() -> GroundTruth:
    """Persons 1 and 2 (120 px) and 3 (90 px) in each of frames 1-8."""
    gt = GroundTruth()
    for f in FRAMES:
        gt.boxes[f] += [A, B, C]
        gt.ids[f] += [1, 2, 3]
    return gt


def made_output() -> TrackOutput:
    """Hand-made tracker output: person 1 is "a" but missed in frame 4 (one fragmentation);
    person 2 is "b" in frames 1-4, then "b2" (one ID switch, a second START on them); "c" on
    the short person 3 all along; "x" on nobody in frames 2-3."""
    boxes: dict[int, list[tuple[str, Detection]]] = {f: [] for f in FRAMES}
    for f in FRAMES:
        if f != 4:
            boxes[f].append(("a", A.shifted(2, 0)))
        boxes[f].append(("b" if f <= 4 else "b2", B.shifted(0, 3)))
        boxes[f].append(("c", C))
    for f in (2, 3):
        boxes[f].append(("x", NOBODY))
    starts = [(1, "a"), (1, "b"), (1, "c"), (2, "x"), (5, "b2")]
    return TrackOutput(boxes, starts)


def test_hand_counted_switches_fragmentations_and_events_per_person() -> None:
    """At --min-height 100: 1 ID switch (person 2: b -> b2), 1 fragmentation (person 1 missed
    in frame 4), IDF1 2/3 (identity hits: a 7 + b 4 = 11 of 16 truth and 17 counted boxes;
    "c" on the short person is dropped), MOTA 1 - (1 miss + 2 false + 1 switch) / 16 = 0.75;
    5 STARTs: person 1 one, person 2 two, "c" on the short person ignored, "x" on nobody
    elsewhere: 3 STARTs on the 2 people, 1.5 events per true person."""
    s = score_tracks(made_truth(), made_output(), FRAMES, min_height=100)
    print(s.as_dict())
    assert (s.id_switches, s.fragmentations) == (1, 1)
    assert s.idf1 == pytest.approx(2 / 3, abs=1e-4)
    assert s.mota == pytest.approx(0.75, abs=1e-4)
    assert s.events_by_person == {1: 1, 2: 2}
    assert (s.people, s.people_with_event, s.starts) == (2, 2, 5)
    assert (s.starts_elsewhere, s.starts_ignored) == (1, 1)
    assert s.events_per_person == pytest.approx(1.5)


def test_without_min_height_the_short_person_counts() -> None:
    """The same output without --min-height: person 3 is counted, "c" follows them in every
    frame (no switch, no fragmentation of theirs), and its START is an event of a true person:
    4 STARTs on 3 people; identity hits 19 of 24 truth and 25 boxes: IDF1 38/49."""
    s = score_tracks(made_truth(), made_output(), FRAMES)
    assert (s.id_switches, s.fragmentations, s.people) == (1, 1, 3)
    assert s.events_by_person == {1: 1, 2: 2, 3: 1}
    assert s.idf1 == pytest.approx(38 / 49, abs=1e-4)
    assert s.events_per_person == pytest.approx(4 / 3)
    assert (s.starts_elsewhere, s.starts_ignored) == (1, 0)


def test_a_short_start_on_no_one_is_ignored() -> None:
    """At --min-height 100 a track of 30 px boxes on no one (a far, unmarked passer-by) is
    neither a person's event nor a false one, as a short box matching nothing is ignored."""
    far = Detection(600, 20, 12, 30, 0.8)
    boxes = {f: [("far", far)] for f in FRAMES}
    s = score_tracks(made_truth(), TrackOutput(boxes, [(1, "far")]), FRAMES, min_height=100)
    assert (s.starts, s.starts_elsewhere, s.starts_ignored, s.id_switches) == (1, 0, 1, 0)


def test_a_start_goes_to_the_person_its_track_overlaps_most() -> None:
    """A track on person 1 for one frame and on person 2 for three is put on person 2; a
    person nobody's track came near is a person without an event, not a zero in the mean."""
    gt = made_truth()
    boxes = {1: [("m", A)], 2: [("m", B)], 3: [("m", B)], 4: [("m", B)]}
    s = score_tracks(gt, TrackOutput(boxes, [(1, "m")]), FRAMES, min_height=100)
    assert s.events_by_person == {2: 1}
    assert (s.people, s.people_with_event, s.events_per_person) == (2, 1, 1.0)


def walking(frames: range, x0: float = 100.0) -> dict[int, list[Detection]]:
    """One person walking right 2 px a frame, seen in *frames*."""
    return {f: [Detection(x0 + 2 * f, 100, 50, 120, 0.9)] for f in frames}


def test_the_real_tracker_at_25_fps_ends_a_track_after_lost_after_s() -> None:
    """Through the real tracker at 25 fps: a person unseen for 80 frames (3.2 s, over the
    camera default lost_after_s 2.5) makes a second START, one fragmentation and one ID
    switch; unseen for 40 frames (1.6 s), one START and no switch."""
    settings = CameraDetectionConfig()
    for gap, starts, switches in ((80, 2, 1), (40, 1, 0)):
        dets = walking(range(1, 21)) | {f: [] for f in range(21, 21 + gap)}
        dets |= walking(range(21 + gap, 41 + gap))
        gt = GroundTruth()
        for f, found in dets.items():
            box = walking(range(f, f + 1))[f][0]
            gt.boxes[f].append(box)
            gt.ids[f].append(7)
            assert not found or found[0] == box
        run = DetectorRun(gt, dets, 0.0, (480, 640))
        out = run_tracker(make_tracker(settings), run, 25.0, settings)
        s = score_tracks(gt, out, dets, min_height=100)
        assert (s.starts, s.events_by_person) == (starts, {7: starts}), gap
        assert (s.id_switches, s.fragmentations) == (switches, 1), gap


def test_interval_feeds_the_tracker_as_a_node_runs_its_detector() -> None:
    """--interval 0.4 at 25 fps: the tracker gets the boxes of every 10th frame (the others
    only pass time) and those frames are the ones scored: one person walking through 60
    frames, 6 frames fed, one START, confirmed on the second (5 reported boxes, 1 miss)."""
    settings = CameraDetectionConfig()
    dets = walking(range(1, 61))
    gt = GroundTruth()
    for f, found in dets.items():
        gt.boxes[f] += found
        gt.ids[f].append(3)
    run = DetectorRun(gt, dets, 0.0, (480, 640))
    out = run_tracker(make_tracker(settings), run, 25.0, settings, interval=0.4)
    assert out.frames == [1, 11, 21, 31, 41, 51]
    assert sum(len(b) for b in out.boxes.values()) == 5
    s = score_tracks(gt, out, out.frames, min_height=100)
    assert (s.starts, s.events_by_person, s.id_switches, s.fragmentations) == (1, {3: 1}, 0, 0)
    assert s.mota == pytest.approx(5 / 6, abs=1e-4)


def test_without_motmetrics_the_box_scores_still_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """motmetrics missing (a node's install): `edge eval` prints precision/recall and says on
    stderr that the track measures were skipped and how to get them, exit 0; asked for them
    with --compare, exit 1."""
    (tmp_path / "img1").mkdir()
    (tmp_path / "gt").mkdir()
    assert cv2.imwrite(str(tmp_path / "img1" / "000001.jpg"), np.zeros((240, 320, 3), np.uint8))
    (tmp_path / "gt" / "gt.txt").write_text("1,1,20,30,40,110,1\n")
    monkeypatch.setitem(sys.modules, "motmetrics", None)
    model = str(SHARED / "models" / "yolox_nano" / "yolox_nano.onnx")
    argv = ["eval", "--gt", str(tmp_path), "--model", model]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "precision" in out and "tracks" not in out
    assert "track measures skipped" in err and "'.[eval]'" in err, err
    assert main([*argv, "--compare"]) == 1


README_COMMAND = (
    "edge eval --gt ../shared/data/gt/TUD-Campus --min-height 100 "
    "--model ../shared/models/yolox_nano/yolox_nano.onnx --compare"
)


@pytest.mark.slow
def test_readme_tracks_command_on_tud_campus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's `edge eval ... --compare` on TUD-Campus, run as written from the repo
    root: today's tracker's figures first, then every other, each sane (IDF1 in 0-1, 8 people,
    at least one event); the figures are printed, not asserted."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert README_COMMAND in readme
    monkeypatch.chdir(ROOT)
    argv = shlex.split(README_COMMAND)[1:]
    status = main(argv)
    text = capsys.readouterr().out
    assert status == 0 and "tracks (iou, 25 fps): IDF1" in text
    assert main([*argv, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    print(text, r["tracks"])
    assert r["tracks"][0]["tracker"] == "iou"
    for t in r["tracks"]:
        assert 0 < t["idf1"] <= 1 and t["people"] == 8 and t["starts_on_people"] >= 1, t


AS_NODE_COMMAND = (
    "edge eval --gt ../shared/data/gt/TUD-Campus --min-height 100 "
    "--model ../shared/models/yolox_nano/yolox_nano.onnx --compare --as-node"
)


@pytest.mark.slow
def test_readme_as_node_command_on_tud_campus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's `edge eval ... --compare --as-node`, run as written from the repo root:
    the images go through a camera's analysis at 5 fps (one image in five: 15 of 71), the
    detector runs only on some of them, ``iou`` is printed first, then ``bytetrack``; the
    figures are printed, not asserted."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert AS_NODE_COMMAND in readme
    monkeypatch.chdir(ROOT)
    argv = [*shlex.split(AS_NODE_COMMAND)[1:], "--json"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    print(r["tracks"])
    assert [t["tracker"] for t in r["tracks"]] == ["iou", "bytetrack"]
    for t in r["tracks"]:
        assert t["analysed"] == 15 and 1 <= t["detector_calls"] <= 15, t
        assert 0 < t["idf1"] <= 1 and t["people"] == 8 and t["starts_on_people"] >= 1, t
