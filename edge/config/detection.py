"""Person detection: the node's detector, and per camera when and how to use it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge.config.base import Outline, Section


class DetectorConfig(Section):
    """The person detector shared by all cameras of the node."""

    backend: Literal["none", "onnx", "ultralytics"] = Field(
        default="none",
        description="none: motion only. onnx: onnxruntime, no torch (YOLOX, YOLOv8/11 exports, "
        "FastestDet). ultralytics: the YOLO class with whatever the site deployed (.pt, .onnx, "
        "an NCNN folder, a TensorRT .engine).",
    )
    model: str | None = Field(
        default=None, min_length=1, description="Model file or folder; required with a backend."
    )
    model_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the model file (64 lower-case hex digits, `sha256sum`); when "
        "set, a node whose model file differs refuses to start (a wrong or damaged model sees "
        "no one). Not for a folder model (NCNN).",
    )
    head: Literal["auto", "yolox", "yolov8", "fastestdet"] = Field(
        default="auto",
        description="onnx backend: output layout; auto tells it from the output shape.",
    )
    score: float = Field(
        default=0.3, gt=0, lt=1, description="Lowest detector score kept (before filters)."
    )
    nms_iou: float = Field(
        default=0.55, gt=0, le=1, description="Overlap above which the weaker box is dropped."
    )
    threads: int = Field(default=2, ge=1, le=16, description="CPU threads for inference.")
    tiles: bool = Field(
        default=False,
        description="onnx backend: on a picture larger than the model's input, also run the "
        "detector on overlapping tiles of the input size at full resolution and merge the "
        "boxes (sharper for crowded and far people; about 5 detector runs on 640x480 with a "
        "416 input, so 5x its CPU).",
    )
    imgsz: int = Field(
        default=640, ge=32, le=2048, description="ultralytics backend: inference size."
    )
    rect_input: bool = Field(
        default=True,
        description="onnx backend, YOLOX models: give the detector a rectangular input (the "
        "picture's long side scaled to the model size, the short side padded only to the next "
        "multiple of 32: a 16:9 frame is 416x256, not 416x416), about 39% less CPU per call. "
        "The model is rewritten in memory at load (the file and its model_sha256 unchanged); "
        "a model that cannot be keeps the square input and logs detector.rect_fallback. "
        "Other model families always use the square input.",
    )

    @model_validator(mode="after")
    def _model_needed(self) -> DetectorConfig:
        if self.backend != "none" and self.model is None:
            raise ValueError(f"model is required with backend = {self.backend!r}")
        return self


class ZoneConfig(Outline):
    """A named area of a camera's view; events say which zones a person stood in."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Zone name, e.g. 'ballot-store'."
    )


class CameraDetectionConfig(Section):
    """When one camera runs the detector, which boxes count, and how boxes become tracks."""

    enabled: bool = Field(default=True, description="Run person detection on this camera.")
    region: Literal["frame", "motion"] = Field(
        default="frame",
        description="frame: the whole frame. motion: a crop around the moving regions (sharper "
        "for small, far people).",
    )
    min_score: float = Field(default=0.3, gt=0, lt=1, description="Lowest score that counts.")
    min_height: int = Field(
        default=0, ge=0, le=4000, description="Smallest box height in pixels that counts."
    )
    min_area: float = Field(
        default=0.0005, ge=0, le=1, description="Smallest box area, fraction of the frame."
    )
    min_aspect: float = Field(
        default=0.6, gt=0, le=20, description="Smallest height/width ratio of a person box."
    )
    max_aspect: float = Field(
        default=6.0, gt=0, le=50, description="Largest height/width ratio of a person box."
    )
    busy_interval_s: float = Field(
        default=0.4,
        ge=0,
        le=60,
        description="While a person is tracked and moving, run the detector at most this often.",
    )
    recheck_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="While a person is tracked, re-run the detector at least this often even "
        "without motion, so someone standing still is not lost.",
    )
    idle_check_s: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="With no motion and nobody tracked, look at the whole frame anyway this "
        "often (0: never): finds a person who came while the motion gate could not see them.",
    )
    busy_check_s: float = Field(
        default=2.0,
        gt=0,
        le=600,
        description="When motion is only where the detector keeps finding nobody (a road, a "
        "flag), look at the whole frame at least this often, so nobody hides there long.",
    )
    known_after: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description="Detector runs finding nobody in a moving area (a run in the dark counts "
        "a third) after which motion there is known and no longer runs the detector each frame; "
        "0: all motion is news.",
    )
    known_half_life_s: float = Field(
        default=20.0,
        gt=0,
        le=86400,
        description="How fast the memory of areas where motion brought nobody fades (half-life).",
    )
    low_light_below: float = Field(
        default=40.0,
        ge=0,
        le=255,
        description="When the view's mean grey is below this, the detector is shown a "
        "denoised, brightened grey picture (a night view); 0: never.",
    )
    low_light_min_score: float = Field(
        default=0.45,
        gt=0,
        lt=1,
        description="Lowest score that counts on that low-light picture, when above min_score "
        "(what is left of the noise looks like people to a detector, at low scores).",
    )
    static_hold: bool = Field(
        default=True,
        description="No person alarm on a static object: a track whose box has not moved, in "
        "a place that saw no motion before it was first seen (furniture, a coat, a plant), "
        "makes no event until it moves (then its event starts, dated from its first sighting).",
    )
    static_quiet_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How long before a track's first sighting its place is looked at for "
        "motion: a person arriving there in that time made some; a static object did not.",
    )
    static_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of the cells under a track's first box that must have seen motion "
        "in static_quiet_s for it to have arrived (below it, someone passing beside the object "
        "is not its arrival).",
    )
    static_move: float = Field(
        default=0.5,
        gt=0,
        le=5,
        description="A held track moves when its box's centre shifts by this share of its "
        "width (across) or height (up and down), or its height changes by this share.",
    )
    confirm_hits: int = Field(
        default=2, ge=1, le=20, description="Detections that make a track (and its event)."
    )
    confirm_window_s: float = Field(
        default=1.5, gt=0, le=60, description="...within this many seconds."
    )
    lost_after_s: float = Field(
        default=2.5,
        gt=0,
        le=600,
        description="A track ends (its event too) when not seen for this long.",
    )
    tracker: Literal["iou", "bytetrack"] = Field(
        default="bytetrack",
        description="How boxes are matched to tracks between detector runs. bytetrack: "
        "ByteTrack (Kalman motion, low-score boxes kept for occlusions). iou: greedy "
        "overlap, then the nearest centre. The track rules on top "
        "(confirm_hits, lost_after_s, parts of a person) are the same.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CameraDetectionConfig:
        if self.min_aspect >= self.max_aspect:
            raise ValueError("min_aspect must be below max_aspect")
        if self.recheck_s >= self.lost_after_s:
            raise ValueError("recheck_s must be below lost_after_s, or still people are lost")
        return self
