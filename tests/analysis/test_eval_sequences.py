"""`edge eval` on MOT sequences made here: frame numbers from any file name, one-line errors
for malformed sequences, and the "don't care" rule of --min-height."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED

from edge.analysis.detect.base import Detection
from edge.analysis.evaluate import evaluate, match
from edge.capture.frame import Image
from edge.cli.main import main

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
TUD = SHARED / "data" / "gt" / "TUD-Campus"

# one "person" per frame, somewhere else in each frame: a mix-up of frames cannot score
BOXES = {1: (20, 30, 40, 110), 2: (150, 40, 50, 120), 3: (260, 20, 45, 130)}


class BrightBoxes:
    """A stand-in detector: the bounding box of the bright pixels, if any."""

    name = "bright-boxes"

    def detect(self, image: Image) -> list[Detection]:
        """The box around everything brighter than mid-grey."""
        mask = (cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) > 128).astype(np.uint8)
        if not mask.any():
            return []
        x, y, w, h = cv2.boundingRect(mask)
        return [Detection(float(x), float(y), float(w), float(h), 0.9)]


def make_sequence(
    root: Path,
    names: list[str],
    gt: str | None = None,
    boxes: dict[int, tuple[int, int, int, int]] | None = None,
) -> Path:
    """A MOT sequence under *root*: image *names* (the n-th drawn with ``boxes[n]``, counted
    from 1) and ``gt/gt.txt`` (*gt*, or the rows of *boxes*)."""
    boxes = BOXES if boxes is None else boxes
    (root / "img1").mkdir(parents=True)
    (root / "gt").mkdir()
    for n, name in enumerate(names, 1):
        img = np.full((240, 320, 3), 40, np.uint8)
        if n in boxes:
            x, y, w, h = boxes[n]
            img[y : y + h, x : x + w] = 230
        assert cv2.imwrite(str(root / "img1" / name), img)
    if gt is None:
        gt = "".join(f"{f},1,{x},{y},{w},{h},-1,-1,-1\n" for f, (x, y, w, h) in boxes.items())
    (root / "gt" / "gt.txt").write_text(gt)
    return root


@pytest.mark.parametrize("pattern", ["{:06d}.jpg", "frame_{:04d}.jpg", "img{:05d}.png"])
def test_frame_numbers_come_from_the_digits_in_any_name(tmp_path: Path, pattern: str) -> None:
    """`000001.jpg`, `frame_0001.jpg`, `img00001.png`: each image is scored against the
    truth of its own frame (a different place in each), so all three are hits."""
    seq = make_sequence(tmp_path, [pattern.format(n) for n in (1, 2, 3)])
    s = evaluate(BrightBoxes(), seq)
    assert (s.frames, s.gt, s.tp, s.fp, s.fn) == (3, 3, 3, 0, 0)


def test_eval_command_runs_on_frame_named_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge eval` with the real model on `frame_0001.jpg`... scores the sequence (it used to
    end in a ValueError traceback)."""
    seq = make_sequence(tmp_path, [f"frame_{n:04d}.jpg" for n in (1, 2, 3)])
    assert main(["eval", "--gt", str(seq), "--model", str(MODEL), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["frames"] == 3 and r["gt"] == 3


MALFORMED = {
    "no images": ([], None, ["img1", "no images"]),
    "no digits": (["000001.jpg", "cover.jpg"], None, ["cover.jpg", "no digits"]),
    "duplicate": (
        ["frame_1.jpg", "frame_0001.png", "frame_2.jpg"],
        None,
        ["frame_0001.png", "frame_1.jpg", "frame number 1"],
    ),
    "gt row": (
        ["000001.jpg", "000002.jpg"],
        "1,1,20,30,40,110,-1\n\n2,1,150,forty,50,120,-1\n",
        ["gt.txt", "line 3", "not a MOT row"],
    ),
    "gt short row": (["000001.jpg"], "1,1,20,30\n", ["gt.txt", "line 1"]),
    "gt frame without image": (
        ["000001.jpg", "000002.jpg"],
        "1,1,20,30,40,110,-1\n2,1,150,40,50,120,-1\n3,1,260,20,45,130,-1\n",
        ["line 3", "frame 3 has no image"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_sequence_is_one_line_and_exit_2(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No images, a name without digits, two images of one frame, a gt.txt row that does not
    parse or names a frame without an image: exit 2 and one line on stderr naming the
    file (and line) and the problem, no traceback."""
    names, gt, expected = MALFORMED[case]
    seq = make_sequence(tmp_path / "seq", names, gt)
    assert main(["eval", "--gt", str(seq), "--model", str(MODEL)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and "\n" not in err and err.startswith("eval: "), err
    for word in expected:
        assert word in err, (word, err)


def test_match_counts_a_person_near_the_limit_once() -> None:
    """min height 100: a 102 px person found as a 98 px box is a hit (it was a miss and the
    box nothing); a 98 px person found as a 102 px box is neither hit, miss nor false
    positive; short boxes matching nothing are ignored, tall ones are false positives."""
    tall, short = Detection(10, 10, 40, 102, 1), Detection(200, 10, 40, 98, 1)
    m = match([tall], [Detection(10, 12, 40, 98, 0.8)], 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn, m.ignored, m.gt_ignored) == (1, 0, 0, 0, 0)
    m = match([short], [Detection(200, 8, 40, 102, 0.8)], 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn, m.ignored, m.gt_ignored) == (0, 0, 0, 1, 1)
    nowhere = [Detection(400, 300, 20, 60, 0.5), Detection(500, 300, 40, 120, 0.5)]
    m = match([tall, short], nowhere, 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn, m.ignored, m.gt_ignored) == (0, 1, 1, 1, 1)


def test_match_prefers_counted_truth_and_keeps_double_detections_false() -> None:
    """A detection overlapping a counted and an ignored person goes to the counted one; a
    second box on a counted person is a false positive, several on an ignored one are not;
    MOT rows with confidence 0 are ignore regions whatever their height."""
    person = Detection(100, 50, 50, 150, 1)
    seated = Detection(104, 60, 50, 90, 1)  # short: an ignore region
    det = Detection(102, 52, 50, 148, 0.9)
    m = match([person, seated], [det], 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn, m.ignored) == (1, 0, 0, 0)
    m = match([person], [det, person.shifted(3, 0)], 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    m = match([seated], [seated, seated.shifted(2, 0)], 0.5, min_height=100)
    assert (m.tp, m.fp, m.fn, m.ignored) == (0, 0, 0, 2)
    m = match([], [person], 0.5, ignore=[person])
    assert (m.tp, m.fp, m.fn, m.ignored, m.gt_ignored) == (0, 0, 0, 1, 1)


def test_evaluate_applies_the_rule_over_a_sequence(tmp_path: Path) -> None:
    """A sequence whose people stand 98-103 px tall, scored at --min-height 100: the people
    at or over the limit are hits, the shorter ones neither hits nor misses nor false
    positives, whatever height the detector gives them."""
    boxes = {1: (20, 30, 40, 103), 2: (150, 40, 50, 98), 3: (260, 20, 45, 100)}
    seq = make_sequence(tmp_path, [f"{n:06d}.jpg" for n in boxes], boxes=boxes)

    class OffByThree(BrightBoxes):
        """Boxes 3 px shorter than the bright region (at the top)."""

        def detect(self, image: Image) -> list[Detection]:
            return [Detection(d.x, d.y + 3, d.w, d.h - 3, d.score) for d in super().detect(image)]

    s = evaluate(OffByThree(), seq, min_height=100)
    assert (s.gt, s.gt_ignored, s.tp, s.fp, s.fn, s.ignored) == (2, 1, 2, 0, 0, 1)
    assert s.precision == 1.0 and s.recall == 1.0


def test_tud_campus_figures_with_min_height(capsys: pytest.CaptureFixture[str]) -> None:
    """TUD-Campus at --min-height 100 under the rule: no truth is under the limit (heights
    129-310), so the counted truth stays 359 boxes; precision >= 0.85, recall >= 0.78."""
    argv = ["eval", "--gt", str(TUD), "--min-height", "100", "--model", str(MODEL), "--json"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    print(r)
    assert (r["gt"], r["gt_ignored"], r["frames"]) == (359, 0, 71)
    assert r["tp"] + r["fn"] == 359 and r["tp"] + r["fp"] == r["detections"]
    assert r["precision"] >= 0.85 and r["recall"] >= 0.78, r
