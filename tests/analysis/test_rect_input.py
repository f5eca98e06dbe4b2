"""The detector's rectangular input (detector.rect_input): YOLOX grids for a non-square input,
the same people found as with the square input on real frames of the dev clips, a model that
cannot take a rectangular input kept square with a warning, and bad model files still refused
with a clear ModelError."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import structlog

from edge.analysis.detect.base import Detection
from edge.analysis.detect.heads import YoloxHead, grids, padded
from edge.analysis.detect.onnx import ModelError, OnnxDetector
from edge.analysis.detect.rect import RectError, symbolic_hw

SHARED = Path("/work/shared")
MODEL = SHARED / "models/yolox_nano/yolox_nano.onnx"
VIDEOS = SHARED / "data/videos"
needs_model = pytest.mark.skipif(not MODEL.is_file(), reason="shared yolox_nano model missing")


def test_grids_of_a_non_square_input_by_hand() -> None:
    """A 32x64 (height x width) input with strides 8/16/32: 4x8, 2x4 and 1x2 cells, row by
    row, each with its stride; a raw row decodes to the box worked out by hand."""
    cells, steps = grids(32, 64, (8, 16, 32))
    assert cells.shape == (42, 2) and steps.shape == (42, 1)
    assert cells[:9].tolist() == [[x, 0] for x in range(8)] + [[0, 1]]
    assert cells[31].tolist() == [7, 3] and steps[31, 0] == 8
    assert cells[32:36].tolist() == [[0, 0], [1, 0], [2, 0], [3, 0]] and steps[32, 0] == 16
    assert cells[39].tolist() == [3, 1]
    assert cells[40:].tolist() == [[0, 0], [1, 0]] and steps[40:, 0].tolist() == [32, 32]
    head = YoloxHead(64)
    assert head.rows(32, 64) == 42 and head.grid.shape[0] == 64 + 16 + 4
    assert head.grids_for(32, 64)[0] is head.grids_for(32, 64)[0]  # kept per shape
    out = np.zeros((1, 42, 85), np.float32)
    out[0, 39, :4] = [0.5, 0.5, np.log(2.0), np.log(2.0)]  # stride 16, cell (3, 1)
    out[0, 39, 4] = out[0, 39, 5] = 0.9
    (box,) = head.decode(out, 0.5, (32, 64))
    assert box[:4].tolist() == pytest.approx([40, 8, 72, 40]) and box[4] == pytest.approx(0.81)
    with pytest.raises(ValueError, match="42 rows, expected 84 for 64x64"):
        head.decode(out, 0.5)


def test_padding_to_the_stride() -> None:
    """The short side is padded to the next multiple of 32, never below one stride."""
    assert [padded(n, 32) for n in (1, 32, 33, 234, 256, 416)] == [32, 32, 64, 256, 256, 416]


@needs_model
def test_the_rewrite_changes_only_the_declared_shapes() -> None:
    """yolox_nano rewritten in memory: the shapes its file declared are reported, its input
    height and width are symbolic, and on the same square picture it gives exactly the
    output of the file as shipped (the nodes and weights are carried over byte for byte)."""
    import onnxruntime as ort

    model = symbolic_hw(MODEL.read_bytes())
    assert model.input_shape == [1, 3, 416, 416] and model.output_shape == [1, 3549, 85]
    assert model.yolox
    rewritten = ort.InferenceSession(model.data, providers=["CPUExecutionProvider"])
    shipped = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    assert rewritten.get_inputs()[0].shape == [1, 3, "height", "width"]
    picture = np.random.default_rng(1).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
    name = shipped.get_inputs()[0].name
    want = shipped.run(None, {name: picture})[0]
    assert np.array_equal(rewritten.run(None, {name: picture})[0], want)


def _frames(name: str, every: int, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(VIDEOS / name))
    frames: list[np.ndarray] = []
    i = 0
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(frame)
        i += 1
    cap.release()
    return frames


def _iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter)


@needs_model
def test_rect_and_square_find_the_same_people_on_the_dev_clips() -> None:
    """On real 768x432 frames of one-by-one and walking-by, every box scored 0.5 or more by
    either input has a box from the other input overlapping it by IoU >= 0.85 (in frame
    coordinates), and the rectangular input is 416x256."""
    square = OnnxDetector(MODEL, threads=1, score=0.3, nms_iou=0.55)
    rect = OnnxDetector(MODEL, threads=1, score=0.3, nms_iou=0.55, rect=True)
    assert rect.rect and not square.rect and rect.name.endswith(":rect")
    frames = _frames("one-by-one-person-detection.mp4", 40, 12)
    frames += _frames("walking-by.h264", 8, 12)
    assert frames[0].shape == (432, 768, 3)
    blob = rect._prepare(frames[0])[0]
    assert blob.shape == (1, 3, 256, 416)
    strong = 0
    for frame in frames:
        a, b = square.detect(frame), rect.detect(frame)
        for mine, theirs in ((a, b), (b, a)):
            for d in mine:
                if d.score >= 0.5:
                    strong += 1
                    best = max((_iou(d, t) for t in theirs), default=0.0)
                    assert best >= 0.85, (d, theirs)
    assert strong >= 10  # people were there to compare


def _fixed_reshape_model(path: Path, out: tuple[int, ...] = (1, 84, 85)) -> None:
    """A tiny model (1x3x64x64 in, *out* out: YOLOX-shaped by default) whose graph hard-codes
    its size (a Slice and a Reshape with constant sizes): fine square, broken at any other
    shape."""
    onnx = pytest.importorskip("onnx")
    from onnx import NodeProto, TensorProto, helper

    def const(name: str, values: list[int]) -> NodeProto:
        return helper.make_node(
            "Constant",
            [],
            [name],
            value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values),
        )

    nodes = [
        const("starts", [0]),
        const("ends", [int(np.prod(out))]),
        const("axes", [1]),
        const("shape", list(out)),
        helper.make_node("Flatten", ["images"], ["flat"], axis=1),
        helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["cut"]),
        helper.make_node("Reshape", ["cut", "shape"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(out))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_a_model_that_cannot_take_a_rectangle_stays_square_with_a_warning(tmp_path: Path) -> None:
    """A model whose graph hard-codes its input size loads, fails the rectangular probe, and
    keeps the square input (it still detects) with one detector.rect_fallback warning naming
    the model; the model file is not changed."""
    path = tmp_path / "fixed.onnx"
    _fixed_reshape_model(path)
    before = path.read_bytes()
    with structlog.testing.capture_logs() as logs:
        detector = OnnxDetector(path, threads=1, rect=True)
    assert detector.family == "yolox" and not detector.rect
    (warning,) = [e for e in logs if e["event"] == "detector.rect_fallback"]
    assert warning["log_level"] == "warning" and warning["model"] == str(path)
    assert warning["using"] == "square 64x64 input"
    assert isinstance(detector.detect(np.zeros((36, 64, 3), np.uint8)), list)
    assert detector._prepare(np.zeros((36, 64, 3), np.uint8))[0].shape == (1, 3, 64, 64)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("out", "family"), [((1, 85, 8, 8), "fastestdet"), ((1, 84, 100), "yolov8")]
)
def test_other_families_keep_the_square_input_quietly(
    tmp_path: Path, out: tuple[int, ...], family: str
) -> None:
    """FastestDet (a plain resize) and YOLOv8 exports (anchors fixed for their size) keep the
    square input with rect asked for, without a fallback warning (nothing failed)."""
    path = tmp_path / f"{family}.onnx"
    _fixed_reshape_model(path, out)
    with structlog.testing.capture_logs() as logs:
        detector = OnnxDetector(path, threads=1, rect=True)
    assert detector.family == family and not detector.rect
    assert not [e for e in logs if e["event"] == "detector.rect_fallback"]


@pytest.mark.parametrize("rect", [True, False])
def test_bad_model_files_still_give_a_clear_model_error(tmp_path: Path, rect: bool) -> None:
    """A missing file and a file that is not ONNX are refused with ModelError naming the file,
    with the rectangular input asked for or not, and no warning before it; the rewrite itself
    names a file that is not ONNX too."""
    missing = tmp_path / "missing.onnx"
    with pytest.raises(ModelError, match=f"model not found: {missing}"):
        OnnxDetector(missing, rect=rect)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 this is not a model \xff\xfe")
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises(ModelError, match=f"cannot load model {junk}"),
    ):
        OnnxDetector(junk, rect=rect)
    assert not [e for e in logs if e["log_level"] == "warning"]  # the error alone says it
    with pytest.raises(RectError, match="not an ONNX model"):
        symbolic_hw(b"\xff\xff\xff\xff")


@needs_model
def test_model_bench_compares_square_and_rect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge model bench MODEL --gt SEQ --input both` prints the model twice, square then
    rect, each with ms per call and precision/recall (TUD-Campus's first 8 frames), the
    rectangular recall within 5 points of the square one."""
    from edge.cli.main import main

    tud, seq = SHARED / "data/gt/TUD-Campus", tmp_path / "TUD-Campus"
    (seq / "img1").mkdir(parents=True)
    (seq / "gt").mkdir()
    for n in range(1, 9):
        (seq / "img1" / f"{n:06d}.jpg").symlink_to(tud / "img1" / f"{n:06d}.jpg")
    rows = (tud / "gt" / "gt.txt").read_text().splitlines()
    kept = [r for r in rows if r.strip() and int(r.split(",")[0]) <= 8]
    (seq / "gt" / "gt.txt").write_text("\n".join(kept) + "\n")
    argv = ["model", "bench", str(MODEL), "--gt", str(seq), "--input", "both", "--passes", "1"]
    assert main([*argv, "--timing-images", "2"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "ms CPU/call" in line]
    assert [line.split("(416px ")[1].split(")")[0] for line in lines] == ["square", "rect"]
    recalls = [float(line.split("recall ")[1].split()[0]) for line in lines]
    assert recalls[0] > 0.5 and abs(recalls[1] - recalls[0]) <= 0.05, lines


def test_input_option_sets_the_detector_setting() -> None:
    """`--input square|rect` of edge eval and edge bench vision sets detector.rect_input;
    without it the setting's default (on) is kept."""
    import argparse

    from edge.cli.common import add_detector_args, detector_config

    p = argparse.ArgumentParser()
    add_detector_args(p)
    model = ["--model", "m.onnx"]
    assert detector_config(p.parse_args(model)).rect_input is True
    assert detector_config(p.parse_args([*model, "--input", "square"])).rect_input is False
    assert detector_config(p.parse_args([*model, "--input", "rect"])).rect_input is True
