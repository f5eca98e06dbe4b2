"""Person detection with onnxruntime: no torch, for small nodes.

Handles three head families (chosen from the model's output shape, or named in config):
YOLOX (``(1, N, 85)``), Ultralytics YOLOv8/YOLO11 exports (``(1, 84, N)``) and FastestDet
(``(1, 85, H, W)``), each with its own preprocessing.

With ``rect`` (``detector.rect_input``), a YOLOX model is given a rectangular input: the
picture's long side scaled to the model size as before, its short side padded only up to the
next multiple of 32 instead of to a square (a 16:9 frame: 416x256 instead of 416x416, 39% less
CPU). The model file is rewritten in memory for that (edge/analysis/detect/rect.py); where that
fails the detector keeps the square input and logs ``detector.rect_fallback``. YOLOv8 exports
(their anchors are constants for the exported size) and FastestDet (a plain resize, no
padding) keep the square input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from edge.analysis.detect.base import Detection
from edge.analysis.detect.heads import FastestDetHead, YoloV8Head, YoloxHead, nms, padded
from edge.capture.frame import Image
from edge.core.errors import DetectorError

Head = Literal["auto", "yolox", "yolov8", "fastestdet"]
_STEP = 32
"""A rectangular input's sides are multiples of YOLOX's largest stride."""


class ModelError(DetectorError):
    """A model file that cannot be loaded or understood; the message names the file."""


def guess_head(output_shape: list[Any]) -> Literal["yolox", "yolov8", "fastestdet"]:
    """The head family implied by a model's output shape."""
    dims = [d if isinstance(d, int) else -1 for d in output_shape]
    if len(dims) == 4 and dims[1] == 85:
        return "fastestdet"
    if len(dims) == 3 and dims[2] == 85:
        return "yolox"
    if (len(dims) == 3 and dims[1] in (84, 5, 6)) or (len(dims) == 3 and 0 < dims[1] < dims[2]):
        return "yolov8"
    raise ModelError(f"cannot tell the detector family from output shape {output_shape}")


def _load(path: Path, opts: Any) -> Any:
    """An onnxruntime CPU session of the model file at *path*; ModelError naming it if not."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load model {path}: {e}") from e


class OnnxDetector:
    """A person detector on onnxruntime's CPU provider."""

    def __init__(
        self,
        model: str | Path,
        *,
        head: Head = "auto",
        score: float = 0.3,
        nms_iou: float = 0.45,
        threads: int = 2,
        rect: bool = False,
    ) -> None:
        import onnxruntime as ort

        path = Path(model)
        if not path.is_file():
            raise ModelError(f"model not found: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no busy-waiting between calls: the CPU belongs to the other cameras and decoding
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session: Any = None
        rewritten = None
        if rect and head in ("auto", "yolox"):
            from edge.analysis.detect.rect import open_rect, rect_candidate

            candidate = rect_candidate(path)
            if candidate is not None and candidate.yolox:
                rewritten = candidate
                self.session = open_rect(path, opts, candidate)
        self.rect = rewritten is not None and self.session is not None
        if rewritten is not None and self.session is not None:
            shape, outputs = rewritten.input_shape, rewritten.output_shape  # as in the file
        else:
            self.session = _load(path, opts)
            shape, outputs = self.session.get_inputs()[0].shape, self.session.get_outputs()[0].shape
        self.input_name = self.session.get_inputs()[0].name
        if len(shape) != 4 or not isinstance(shape[2], int) or shape[2] != shape[3]:
            raise ModelError(f"{path}: expected a square NCHW input, got {shape}")
        self.size = int(shape[2])
        family = head if head != "auto" else guess_head(outputs)
        self.family = family
        self.name = f"onnx:{path.name}:{family}" + (":rect" if self.rect else "")
        self.score = score
        self.nms_iou = nms_iou
        self._head: YoloxHead | YoloV8Head | FastestDetHead
        if family == "yolox":
            self._head = YoloxHead(self.size)
        elif family == "yolov8":
            self._head = YoloV8Head()
        else:
            self._head = FastestDetHead(self.size)

    def _prepare(self, image: Image) -> tuple[npt.NDArray[np.float32], float, float, float, float]:
        """Network input, the x/y scale factors and the x/y padding, for mapping back."""
        h, w = image.shape[:2]
        s = self.size
        if self.family == "fastestdet":  # plain resize, BGR / 255
            blob = cv2.dnn.blobFromImage(image, 1 / 255.0, (s, s), swapRB=False)
            return np.asarray(blob, np.float32), s / w, s / h, 0.0, 0.0
        r = min(s / w, s / h)
        nw, nh = round(w * r), round(h * r)
        ch, cw = (padded(nh, _STEP), padded(nw, _STEP)) if self.rect else (s, s)
        canvas = np.full((ch, cw, 3), 114, np.uint8)
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        if self.family == "yolox":  # top-left, BGR, 0-255
            canvas[:nh, :nw] = resized
            blob = cv2.dnn.blobFromImage(canvas, 1.0, swapRB=False)
            return np.asarray(blob, np.float32), r, r, 0.0, 0.0
        dx, dy = (s - nw) // 2, (s - nh) // 2  # ultralytics: centred, RGB, / 255
        canvas[dy : dy + nh, dx : dx + nw] = resized
        blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)
        return np.asarray(blob, np.float32), r, r, float(dx), float(dy)

    def detect(self, image: Image) -> list[Detection]:
        """People in *image*."""
        h, w = image.shape[:2]
        blob, rx, ry, dx, dy = self._prepare(image)
        out = np.asarray(self.session.run(None, {self.input_name: blob})[0], np.float32)
        if isinstance(self._head, YoloxHead):
            found = self._head.decode(out, self.score, (blob.shape[2], blob.shape[3]))
        else:
            found = self._head.decode(out, self.score)
        boxes = nms(found, self.nms_iou)
        result = []
        for x1, y1, x2, y2, sc in boxes:
            bx1 = float(np.clip((x1 - dx) / rx, 0, w))
            by1 = float(np.clip((y1 - dy) / ry, 0, h))
            bx2 = float(np.clip((x2 - dx) / rx, 0, w))
            by2 = float(np.clip((y2 - dy) / ry, 0, h))
            if bx2 > bx1 and by2 > by1:
                result.append(Detection(bx1, by1, bx2 - bx1, by2 - by1, float(sc)))
        return result
