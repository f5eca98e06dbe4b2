"""`edge model quantize` and `edge model bench` for real: the shared float models quantized by
onnxruntime on frames decoded from the shared videos at test time (never stored in the repo),
the documented commands run exactly as written, and each refusal naming what is at fault."""

from __future__ import annotations

import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED, VIDEOS

from edge.analysis.detect.onnx import OnnxDetector
from edge.analysis.detect.quantize import QuantizeError, head_nodes, quantize_model
from edge.cli.main import main

YOLOX = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
TUD = SHARED / "data" / "gt" / "TUD-Campus"
DOC = Path(__file__).resolve().parents[2] / "docs" / "detector-int8.md"
MARKER = "<!-- the commands below are run by tests/analysis/test_quantize.py exactly as written -->"


def _frames(folder: Path, count: int) -> Path:
    """*count* frames of the one-by-one clip (people in most), written as JPEGs to *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(VIDEOS / "one-by-one-person-detection.mp4"))
    try:
        for i in range(count):
            cap.set(cv2.CAP_PROP_POS_FRAMES, 100 + i * 250)
            ok, frame = cap.read()
            assert ok, "the shared clip did not decode"
            cv2.imwrite(str(folder / f"snap-{i}.jpg"), frame)
    finally:
        cap.release()
    return folder


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node's snapshot folder stand-in: 4 decoded frames, one in a sub-folder."""
    folder = _frames(tmp_path_factory.mktemp("cal") / "snapshots", 3)
    _frames(folder / "2026-12-07", 1)
    return folder


def _tud_slice(folder: Path, frames: int) -> None:
    """TUD-Campus's first *frames* frames as a MOT sequence (images linked, truth filtered)."""
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    for n in range(1, frames + 1):
        (folder / "img1" / f"{n:06d}.jpg").symlink_to(TUD / "img1" / f"{n:06d}.jpg")
    rows = (TUD / "gt" / "gt.txt").read_text().splitlines()
    kept = [r for r in rows if r.strip() and int(r.split(",")[0]) <= frames]
    (folder / "gt" / "gt.txt").write_text("\n".join(kept) + "\n")


def _doc_commands() -> list[str]:
    """The ```sh block after the marker in docs/detector-int8.md, one command a line."""
    block = DOC.read_text().split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_documented_commands_run_as_written(
    snapshots: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """From a scratch folder holding models/, snapshots/ (4 frames) and TUD-Campus/ (its first
    12 frames, to be quick): the quantize line writes an INT8 model the onnx backend loads,
    and the bench line prints both models' ms per call and precision/recall, the INT8
    recall within 10 points of the float one."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "yolox_nano.onnx").symlink_to(YOLOX)
    (tmp_path / "snapshots").symlink_to(snapshots)
    _tud_slice(tmp_path / "TUD-Campus", 12)
    monkeypatch.chdir(tmp_path)
    commands = _doc_commands()
    assert [c.split()[:3] for c in commands] == [
        ["edge", "model", "quantize"],
        ["edge", "model", "bench"],
    ]
    for command in commands:
        argv = shlex.split(command)
        assert main(argv[1:]) == 0, command
    out = capsys.readouterr().out
    assert "calibrated on 4 images" in out
    rows = [line for line in out.splitlines() if "ms CPU/call" in line]
    assert len(rows) == 2
    recalls = [float(r.split("recall ")[1].split()[0]) for r in rows]
    assert recalls[0] > 0.6 and recalls[1] > recalls[0] - 0.10, rows
    int8 = OnnxDetector(tmp_path / "models" / "yolox_nano-int8.onnx", threads=1)
    assert int8.size == 416 and int8.family == "yolox"


def test_a_smaller_input_size_is_written_and_detects(snapshots: Path, tmp_path: Path) -> None:
    """--imgsz 160 (float copy, no calibration needed): the model's input is 160x160, the
    detector decodes its grid and still finds a person in a TUD-Campus frame."""
    out = tmp_path / "yolox-160.onnx"
    r = quantize_model(YOLOX, snapshots, out, imgsz=160, int8=False)
    assert r.size == 160 and out.is_file()
    det = OnnxDetector(out, threads=1)
    assert det.size == 160
    image = np.asarray(cv2.imread(str(TUD / "img1" / "000001.jpg")), np.uint8)
    assert any(d.h >= 100 for d in det.detect(image))


def test_the_head_kept_float_ends_at_the_prediction_convolutions() -> None:
    """yolox_nano's float head: the output Transpose back to the 9 prediction convolutions
    (3 strides x box, objectness, class) and nothing before them."""
    import onnx

    graph = onnx.load(str(YOLOX)).graph
    names = head_nodes(graph)
    ops = {n.name: n.op_type for n in graph.node}
    assert ops[names[0]] == "Transpose"
    assert sum(ops[n] == "Conv" for n in names) == 9
    assert len(names) < 30


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("empty", "no calibration images in"),
        ("missing", "calibration folder not found"),
        ("exists", "exists: give another --out"),
        ("garbage", "cannot load model"),
        ("no-model", "model not found"),
        ("size", "multiple of 32"),
    ],
)
def test_refusals_name_what_is_at_fault(
    what: str, message: str, snapshots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with one line naming the folder or file: an empty calibration folder, a missing
    one, an --out that exists (left untouched), a model that is not ONNX, no model, an input
    size that is not a multiple of 32."""
    model, calibration, out = YOLOX, snapshots, tmp_path / "out.onnx"
    extra: list[str] = []
    if what == "empty":
        calibration = tmp_path / "empty"
        calibration.mkdir()
        (calibration / "notes.txt").write_text("no pictures here\n")
    elif what == "missing":
        calibration = tmp_path / "nowhere"
    elif what == "exists":
        out.write_bytes(b"keep me")
    elif what == "garbage":
        model = tmp_path / "model.onnx"
        model.write_bytes(b"not a model")
    elif what == "no-model":
        model = tmp_path / "absent.onnx"
    else:
        extra = ["--imgsz", "100"]
    argv = ["model", "quantize", "--model", str(model), "--calibration", str(calibration)]
    assert main([*argv, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("model quantize: ") and message in err and "\n" not in err
    named = {"empty": calibration, "missing": calibration, "exists": out, "garbage": model}
    if what in named:
        assert str(named[what]) in err
    if what == "exists":
        assert out.read_bytes() == b"keep me"
    else:
        assert not out.exists()


def test_unreadable_pictures_only_is_an_error(tmp_path: Path) -> None:
    """A folder whose only .jpg is not a picture: QuantizeError naming the folder, no model."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out.onnx"
    fastestdet = SHARED / "models" / "fastestdet" / "FastestDet.onnx"
    with pytest.raises(QuantizeError, match=f"no readable calibration image in {folder}"):
        quantize_model(fastestdet, folder, out)
    assert not out.exists()


@pytest.mark.slow
def test_json_result_is_the_only_output(
    snapshots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FastestDet with --json (2 pictures): stdout is one JSON object (the calibrator's
    progress lines do not reach it) naming the pictures used and the float head; the copy
    loads as FastestDet."""
    import json

    out = tmp_path / "fd-int8.onnx"
    model = SHARED / "models" / "fastestdet" / "FastestDet.onnx"
    argv = ["model", "quantize", "--model", str(model), "--calibration", str(snapshots)]
    assert main([*argv, "--out", str(out), "--images", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["calibration_images"] == 2 and result["int8"] is True
    assert result["size"] == 352 and result["float_nodes"] > 0
    assert OnnxDetector(out, threads=1).family == "fastestdet"


def test_threads_are_settable_from_the_detector_options() -> None:
    """`edge eval` / `edge bench vision` take --threads into [detector] threads, which the
    onnx detector's session gets; without it the config's value (2) stays."""
    from edge.analysis.detect.factory import build_detector
    from edge.cli.common import detector_config
    from edge.cli.main import build_parser

    parse = build_parser().parse_args
    base = ["eval", "--gt", str(TUD), "--model", str(YOLOX)]
    assert detector_config(parse(base)).threads == 2
    cfg = detector_config(parse([*base, "--threads", "1"]))
    assert cfg.threads == 1
    det = build_detector(cfg)
    assert isinstance(det, OnnxDetector)
    assert det.session.get_session_options().intra_op_num_threads == 1


def test_bench_refuses_a_folder_that_is_not_a_sequence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge model bench` on a folder without img1/: exit 2, one line naming the folder."""
    assert main(["model", "bench", str(YOLOX), "--gt", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("model bench: ") and str(tmp_path / "img1") in err
