"""Static INT8 quantization of an ONNX person detector, calibrated on the node's own frames.

A technician step (``edge model quantize``): the float model is run over pictures the node
saved (its snapshots, or any folder of JPEG/PNG images), the activation ranges seen there fix
the INT8 scales, and onnxruntime's ``quantize_static`` writes a QDQ model that the onnx backend
loads like any other. Choices, each by measurement on TUD-Campus (README, "Detector on a Pi"):

* QDQ format with **per-channel** weights: per-tensor weights lose every person (YOLOX's folded
  batch-norm gives channels ranges that differ by orders of magnitude);
* the **detection head stays float**: the nodes between the last convolutions and the output
  (sigmoids, concatenation of box offsets with scores) -- one INT8 scale cannot hold both a box
  offset of tens of pixels and a score near 0.3;
* activations unsigned (U8S8): signed ones (S8S8) run 2x slower than float on x86 without VNNI;
* activation ranges by **percentile** (99.999%) over the calibration pictures rather than their
  extremes: a few saturated pixels no longer widen a range for all (with frames of another
  camera recall fell 6.9 points with min/max, 0.8 with percentiles);
* the model is brought to opset 13 first (per-channel QDQ needs it) and pre-processed with
  onnxruntime's ``quant_pre_process`` (shape inference and graph optimisation).

``imgsz`` writes the model for another square input size (a multiple of 32; the graph must not
hard-code its grid, which YOLOX and FastestDet exports do not): fewer pixels, less CPU, smaller
people missed sooner.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.detect.onnx import ModelError, OnnxDetector
from edge.core.errors import DetectorError
from edge.core.logs import get_logger

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
Format = Literal["qdq", "qoperator"]
_log = get_logger(__name__)


class QuantizeError(DetectorError):
    """The quantization cannot be done as asked; the message names the file or folder."""


@dataclass(frozen=True)
class QuantizeResult:
    """What ``quantize_model`` wrote."""

    model: Path
    out: Path
    images: int
    skipped: int
    size: int
    float_nodes: int
    seconds: float


def calibration_images(directory: Path, limit: int) -> list[Path]:
    """Up to *limit* JPEG/PNG files under *directory* (searched recursively, as a node's clip
    store keeps snapshots in sub-folders), spread evenly over the sorted list."""
    if not directory.is_dir():
        raise QuantizeError(f"calibration folder not found: {directory}")
    found = sorted(
        p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not found:
        raise QuantizeError(
            f"no calibration images in {directory}: it needs frames the node saved "
            f"({', '.join(IMAGE_SUFFIXES)} files, e.g. its snapshots)"
        )
    if len(found) <= limit:
        return found
    step = len(found) / limit
    return [found[int(i * step)] for i in range(limit)]


def head_nodes(graph: Any) -> list[str]:
    """Names of the nodes from the graph outputs back to (and including) the last
    convolution of each branch: the detection head that stays float."""
    producer = {o: n for n in graph.node for o in n.output}
    names: list[str] = []
    stack = [o.name for o in graph.output]
    seen: set[str] = set()
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        names.append(node.name)
        if node.op_type != "Conv":
            stack.extend(node.input)
    return names


def _resized(model: Any, size: int) -> Any:
    """*model* with a square input of *size*, every inferred shape dropped (they follow)."""
    import onnx

    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise QuantizeError(f"expected an NCHW input, got {len(dims)} dimensions")
    dims[2].dim_value = size
    dims[3].dim_value = size
    del model.graph.value_info[:]
    for out in model.graph.output:
        for d in out.type.tensor_type.shape.dim:
            d.ClearField("dim_value")
            d.dim_param = "n"
    return onnx.shape_inference.infer_shapes(model)


class _Reader:
    """Feeds the calibration images, prepared exactly as the detector prepares a frame, a
    range at a time (onnxruntime's strided calibration: the activations of one range are held
    in memory at once, not those of every picture)."""

    def __init__(self, detector: OnnxDetector, images: list[Path]) -> None:
        self.detector = detector
        self.paths: list[Path] = []
        self.skipped = 0
        for path in images:  # decoded twice (here and when fed): never a range of nothing
            if cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
                self.skipped += 1
                _log.warning("calibration_image_unreadable", path=str(path))
            else:
                self.paths.append(path)
        self.used = len(self.paths)
        self._blobs: Iterator[npt.NDArray[np.float32]] = iter(())
        self.set_range(0, len(self.paths))

    def __len__(self) -> int:
        return len(self.paths)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Feed the pictures from *start_index* to *end_index* next."""
        self._blobs = self._iter(self.paths[start_index:end_index])

    def _iter(self, paths: list[Path]) -> Iterator[npt.NDArray[np.float32]]:
        for path in paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                yield self.detector._prepare(np.asarray(image, dtype=np.uint8))[0]

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        """The next input, or None when the range is done (a CalibrationDataReader)."""
        blob = next(self._blobs, None)
        return None if blob is None else {self.detector.input_name: blob}


def _float_model(model: Path, imgsz: int | None, work: Path) -> OnnxDetector:
    """Write ``work/pre.onnx``: *model* at *imgsz*, opset 13 at least, pre-processed for
    quantization; returns a detector on it (its input size and preparation)."""
    try:
        import onnx
        from onnx import version_converter
    except ImportError as e:
        raise QuantizeError(
            "quantizing needs the onnx package (the yolo extra brings it): "
            "pip install 'warehouse-edge[yolo]' or 'onnx>=1.15'"
        ) from e
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        OnnxDetector(model, threads=1)  # a model the detector cannot run is refused here
        proto = onnx.load(str(model))
    except ModelError as e:
        raise QuantizeError(str(e)) from e
    except Exception as e:  # onnx raises DecodeError and friends
        raise QuantizeError(f"cannot read model {model}: {e}") from e
    try:
        if imgsz is not None:
            proto = _resized(proto, imgsz)
        opset = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
        if opset < 13:
            proto = version_converter.convert_version(proto, 13)
        onnx.save(proto, str(work / "float.onnx"))
        sized = OnnxDetector(work / "float.onnx", threads=1)
        quant_pre_process(
            str(work / "float.onnx"), str(work / "pre.onnx"), skip_symbolic_shape=True
        )
    except (ModelError, ValueError, RuntimeError) as e:
        raise QuantizeError(f"cannot prepare {model} for quantization: {e}") from e
    return sized


def _install(built: Path, out: Path) -> None:
    """Copy *built* to *out* through a temporary name beside it (never half a model)."""
    part = out.with_name(out.name + ".part")
    shutil.copyfile(built, part)
    part.replace(out)


def quantize_model(
    model: Path,
    calibration: Path,
    out: Path,
    *,
    imgsz: int | None = None,
    per_channel: bool = True,
    fmt: Format = "qdq",
    float_head: bool = True,
    reduce_range: bool = False,
    method: Literal["minmax", "percentile", "entropy"] = "percentile",
    limit: int = 100,
    overwrite: bool = False,
    int8: bool = True,
) -> QuantizeResult:
    """Write *out*: *model* quantized to INT8 with activation ranges from the images under
    *calibration*. ``int8=False`` only resizes (a float model of ``imgsz``, to compare).
    Raises QuantizeError naming the file or folder at fault."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    start = time.monotonic()
    if out.exists() and not overwrite:
        raise QuantizeError(f"{out} exists: give another --out or remove it first")
    if not out.parent.is_dir():
        raise QuantizeError(f"output folder not found: {out.parent}")
    if imgsz is not None and (imgsz < 32 or imgsz % 32):
        raise QuantizeError(f"input size must be a multiple of 32 from 32, not {imgsz}")
    if not model.is_file():
        raise QuantizeError(f"model not found: {model}")
    images = calibration_images(calibration, limit) if int8 else []
    with tempfile.TemporaryDirectory(prefix="edge-quantize-") as tmp:
        work = Path(tmp)
        sized = _float_model(model, imgsz, work)
        if not int8:
            _install(work / "pre.onnx", out)
            return QuantizeResult(model, out, 0, 0, sized.size, 0, time.monotonic() - start)
        exclude = head_nodes(onnx.load(str(work / "pre.onnx")).graph) if float_head else []
        reader = _Reader(sized, images)
        if reader.used == 0:
            raise QuantizeError(f"no readable calibration image in {calibration}")
        chatter = io.StringIO()  # the calibrators print progress; stdout is the result's
        with contextlib.redirect_stdout(chatter):
            quantize_static(
                str(work / "pre.onnx"),
                str(work / "int8.onnx"),
                reader,
                quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                per_channel=per_channel,
                reduce_range=reduce_range,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=exclude,
                # one picture's activations at a time, merged into the histograms: all
                # of 47 pictures at 416 px held at once took 6.3 GB, more than a Pi has
                extra_options={"CalibStridedMinMax": 1},
                calibrate_method={
                    "minmax": CalibrationMethod.MinMax,
                    "percentile": CalibrationMethod.Percentile,
                    "entropy": CalibrationMethod.Entropy,
                }[method],
            )
        try:
            OnnxDetector(work / "int8.onnx", threads=1)
        except ModelError as e:
            raise QuantizeError(f"the quantized model of {model} does not load: {e}") from e
        _install(work / "int8.onnx", out)
    result = QuantizeResult(
        model, out, reader.used, reader.skipped, sized.size, len(exclude), time.monotonic() - start
    )
    _log.info(
        "model_quantized",
        model=str(model),
        out=str(out),
        images=reader.used,
        skipped=reader.skipped,
        size=sized.size,
        float_nodes=len(exclude),
    )
    return result
