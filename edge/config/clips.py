"""Clips, snapshots and their local retention."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from edge.config.base import Section, absolute_path


class ClipConfig(Section):
    """How clips are cut around activity, and how much of them the node keeps."""

    enabled: bool = Field(default=True, description="Record clips around activity.")
    directory: str | None = Field(
        default=None, min_length=1, description="Where clips live. Default: DATA_DIR/clips."
    )
    pre_roll_s: float = Field(
        default=5.0, ge=0, le=60, description="Seconds kept from before the trigger."
    )
    post_roll_s: float = Field(
        default=10.0, ge=0, le=300, description="Seconds kept after the activity ends."
    )
    max_s: float = Field(
        default=120.0,
        ge=5,
        le=3600,
        description="Longest clip; activity beyond it continues in a new clip.",
    )
    max_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024**2,
        le=2 * 1024**4,
        description="Disk quota for clips and snapshots (bytes); never exceeded.",
    )
    keep_free_bytes: int = Field(
        default=64 * 1024**2,
        ge=0,
        le=1024**4,
        description="Free disk space clips leave for events: before a clip or snapshot is "
        "written, the oldest clips go until this much stays free.",
    )
    max_age_days: float = Field(
        default=31.0, gt=0, le=3650, description="Delivered clips older than this are deleted."
    )
    keyframe_s: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Keyframe interval when the node encodes (masked or raw cameras).",
    )
    crf: int = Field(
        default=23,
        ge=10,
        le=40,
        description="libx264 quality when the node encodes (lower: better, bigger).",
    )
    snapshot_quality: int = Field(default=85, ge=30, le=100, description="JPEG quality.")

    @field_validator("directory")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        return None if v is None else absolute_path(v)

    @model_validator(mode="after")
    def _preroll_within_a_clip(self) -> ClipConfig:
        if self.pre_roll_s >= self.max_s:
            raise ValueError(
                f"pre_roll_s: {self.pre_roll_s:g} s is not less than max_s ({self.max_s:g} s): a "
                "clip holds its pre-roll and then the activity"
            )
        return self

    @model_validator(mode="after")
    def _keyframes_within_preroll(self) -> ClipConfig:
        if self.pre_roll_s and self.keyframe_s > self.pre_roll_s:
            raise ValueError("keyframe_s must not exceed pre_roll_s (clips start on a keyframe)")
        return self
