"""A fixed-size ONNX detector made to take any input height and width, in memory.

YOLOX exports are fully convolutional, but their files declare a fixed ``1x3xSxS`` input and
onnxruntime refuses any other shape. A 16:9 frame letterboxed into that square is 44% padding;
with the input's height and width made symbolic, the frame is scaled as before (long side to S)
and its short side padded only to the next multiple of the largest stride (768x432 -> 416x256:
39% less CPU per detector call on this machine).

The rewrite needs no ``onnx`` package: an ONNX file is a protobuf ``ModelProto``, and
``protobuf`` (already a dependency of onnxruntime) parses it with a schema of only the fields
touched here (graph inputs, outputs and value_info, down to their shape dimensions). Every other
field (the nodes, the weights) is kept as unknown fields and written back byte for byte. The
model file on disk is never changed, so its ``model_sha256`` check still covers what shipped.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from google.protobuf import (  # type: ignore[import-untyped]
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)

from edge.analysis.detect.heads import YoloxHead, padded
from edge.core.logs import get_logger

_log = get_logger(__name__)

_FILE = "edge_onnx_shapes.proto"
_PACKAGE = "edge_onnx_shapes"
# field numbers from onnx.proto (onnx/onnx, stable since IR version 3)
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    # name: [(field, number, type: a message name or "int64"/"string", repeated)]
    "Dimension": [("dim_value", 1, "int64", False), ("dim_param", 2, "string", False)],
    "Shape": [("dim", 1, "Dimension", True)],
    "Tensor": [("elem_type", 1, "int32", False), ("shape", 2, "Shape", False)],
    "Type": [("tensor_type", 1, "Tensor", False)],
    "ValueInfo": [("name", 1, "string", False), ("type", 2, "Type", False)],
    "Graph": [
        ("input", 11, "ValueInfo", True),
        ("output", 12, "ValueInfo", True),
        ("value_info", 13, "ValueInfo", True),
    ],
    "Model": [("graph", 7, "Graph", False)],
}
_SCALARS = {
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
}


class RectError(ValueError):
    """The model cannot be given a symbolic input height and width; the message says why."""


@functools.cache
def _model_class() -> Any:
    """The partial ``ModelProto`` message class (built once per process)."""
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(name=_FILE, package=_PACKAGE, syntax="proto2")
    for name, fields in _MESSAGES.items():
        msg = proto.message_type.add(name=name)
        for field, number, kind, repeated in fields:
            f = msg.field.add(name=field, number=number)
            f.label = (
                descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
                if repeated
                else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
            )
            if kind in _SCALARS:
                f.type = _SCALARS[kind]
            else:
                f.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
                f.type_name = f".{_PACKAGE}.{kind}"
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.Model"))


class Rewritten(NamedTuple):
    """A model rewritten by symbolic_hw, with the shapes its file declared."""

    data: bytes
    input_shape: list[int | str]
    output_shape: list[int | str]

    @property
    def yolox(self) -> bool:
        """A YOLOX model by its declared shapes: a square 1x3xSxS input, (1, N, 85) out."""
        i, o = self.input_shape, self.output_shape
        square = len(i) == 4 and isinstance(i[2], int) and i[2] == i[3]
        return square and len(o) == 3 and o[2] == 85


def _dims(value: Any) -> list[int | str]:
    return [
        d.dim_param if d.HasField("dim_param") else int(d.dim_value)
        for d in value.type.tensor_type.shape.dim
    ]


def symbolic_hw(model: bytes) -> Rewritten:
    """*model* (an ONNX file's bytes) rewritten, with its first input's height and width symbolic
    (``height``/``width``), every output dimension after the batch symbolic and the stored
    intermediate shapes (value_info, computed for the fixed size) dropped; onnxruntime infers
    them again at load. Raises RectError when the first input is not a 4-d tensor."""
    m = _model_class()()
    try:
        m.ParseFromString(model)
    except Exception as e:  # protobuf's DecodeError, or worse on a file that is not ONNX
        raise RectError(f"not an ONNX model: {e}") from e
    graph = m.graph
    if not graph.input or not graph.output:
        raise RectError("the model has no input or no output")
    shapes = _dims(graph.input[0]), _dims(graph.output[0])
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise RectError(f"the first input has {len(dims)} dimensions, not 4 (NCHW)")
    for dim, name in ((dims[2], "height"), (dims[3], "width")):
        dim.ClearField("dim_value")
        dim.dim_param = name
    for i, out in enumerate(graph.output):
        for j, dim in enumerate(out.type.tensor_type.shape.dim):
            if j > 0:
                dim.ClearField("dim_value")
                dim.dim_param = f"out{i}_{j}"
    del graph.value_info[:]
    return Rewritten(m.SerializeToString(), *shapes)


def rect_candidate(path: Path) -> Rewritten | None:
    """The model file at *path* rewritten by symbolic_hw, or None when it cannot be read or
    rewritten: then it is no YOLOX model either (no 4-d input, or not ONNX at all), and loading
    it the usual way says what is wrong with it (ModelError), with no warning first."""
    try:
        return symbolic_hw(path.read_bytes())
    except (OSError, RectError) as e:
        _log.debug("detector.rect_skipped", model=str(path), reason=str(e))
        return None


def open_rect(path: Path, opts: Any, model: Rewritten) -> Any:
    """An onnxruntime session of the rewritten YOLOX *model* (of the file at *path*) taking any
    input height and width (each a multiple of its largest stride, up to its size), checked
    on a 16:9 picture: the output rows its head expects (only there, so that onnxruntime's
    memory arena does not grow to the square size at load). None (and a
    logged ``detector.rect_fallback`` warning) when it cannot be made or the check fails: the
    caller loads the file for the square input. The file's own session is never made
    alongside (that would hold both in memory at load)."""
    import onnxruntime as ort

    size = int(model.input_shape[2])
    head = YoloxHead(size)
    step = max(head.strides)
    try:
        if size % step:
            raise RectError(f"input size {size} is not a multiple of the stride {step}")
        session = ort.InferenceSession(
            model.data, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        name = session.get_inputs()[0].name
        quiet = ort.RunOptions()
        quiet.log_severity_level = 4  # a failure is logged below, once
        # a 16:9 picture's input, the usual one; below the square however small the model
        h = max(step, min(padded(size * 9 // 16, step), size - step))
        probe = np.random.default_rng(0).uniform(0, 255, (1, 3, h, size)).astype(np.float32)
        out = np.asarray(session.run(None, {name: probe}, quiet)[0])
        if out.ndim != 3 or out.shape[2] != 85 or out.shape[1] != head.rows(h, size):
            raise RectError(
                f"output {out.shape} at {size}x{h}, the head expects (1, {head.rows(h, size)}, 85)"
            )
    except Exception as e:  # RectError, onnxruntime's own
        _log.warning("detector.rect_fallback", model=str(path), error=f"{type(e).__name__}: {e}",
                     using=f"square {size}x{size} input")  # fmt: skip
        return None
    _log.info("detector.rect_input", model=str(path), size=size, step=step)
    return session
