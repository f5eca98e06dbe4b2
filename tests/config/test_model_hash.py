"""`detector.model_sha256`: a node refuses a model file whose SHA-256 differs, where the
detector is built (DetectorError) and in `edge check-config`'s preflight, naming the key, the
expected and the actual hash; a matching hash, or none set, changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import SHARED

from edge.analysis.detect.factory import build_detector
from edge.config.detection import DetectorConfig
from edge.config.preflight import model_hash_problem
from edge.core.errors import DetectorError

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
WRONG = "0" * 64


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_field_accepts_only_64_lower_case_hex_digits() -> None:
    """A hash that is short, upper-case or not hex is a config error; a proper one loads."""
    for bad in ("abc", "A" * 64, "g" * 64, "0" * 63):
        with pytest.raises(ValueError, match="model_sha256"):
            DetectorConfig(backend="onnx", model="m.onnx", model_sha256=bad)
    assert DetectorConfig(backend="onnx", model="m.onnx", model_sha256=WRONG).model_sha256 == WRONG


def test_mismatch_names_key_expected_and_actual(tmp_path: Path) -> None:
    """A model file with other bytes is refused with both hashes; the right hash passes."""
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not the model the technician meant")
    actual = _sha(model)
    problem = model_hash_problem(
        DetectorConfig(backend="onnx", model=str(model), model_sha256=WRONG)
    )
    assert problem is not None
    assert problem.startswith("detector.model_sha256:")
    assert actual in problem and WRONG in problem
    ok = DetectorConfig(backend="onnx", model=str(model), model_sha256=actual)
    assert model_hash_problem(ok) is None
    assert model_hash_problem(DetectorConfig(backend="onnx", model=str(model))) is None


def test_factory_refuses_a_model_with_another_hash(tmp_path: Path) -> None:
    """build_detector raises DetectorError before loading a model whose hash differs, and
    builds the detector when the hash matches."""
    if not MODEL.exists():
        pytest.skip(f"{MODEL} missing (../shared)")
    with pytest.raises(DetectorError, match=r"detector\.model_sha256") as err:
        build_detector(DetectorConfig(backend="onnx", model=str(MODEL), model_sha256=WRONG))
    assert _sha(MODEL) in str(err.value) and WRONG in str(err.value)
    det = build_detector(DetectorConfig(backend="onnx", model=str(MODEL), model_sha256=_sha(MODEL)))
    assert det is not None


def test_check_config_preflight_reports_the_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge check-config` (with preflight) exits 2 with a line naming detector.model_sha256
    and both hashes; a folder model with a hash set is refused too."""
    from edge.cli.main import main

    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x00" * 100)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[node]\nid = "wh-01"\nsite = "smg"\ndata_dir = "{data}"\n'
        f'[detector]\nbackend = "onnx"\nmodel = "{model}"\nmodel_sha256 = "{WRONG}"\n'
    )
    assert main(["check-config", str(cfg)]) == 2
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "detector.model_sha256" in x)
    assert _sha(model) in line and WRONG in line
    folder = DetectorConfig(backend="ultralytics", model=str(tmp_path), model_sha256=WRONG)
    assert "is a folder" in (model_hash_problem(folder) or "")
