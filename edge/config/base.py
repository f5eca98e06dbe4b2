"""Shared base for config models: unknown keys rejected, strict types, frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """A config section. Unknown keys are errors; values are never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Outline(Section):
    """A polygon drawn on a camera's view, in pixels of the camera's ``resolution``."""

    points: list[list[float]] = Field(
        min_length=3,
        max_length=64,
        description="Corners [x, y] in pixels of the camera's resolution, in order around "
        "the shape.",
    )

    @model_validator(mode="after")
    def _pairs(self) -> Outline:
        for i, p in enumerate(self.points):
            if len(p) != 2:
                raise ValueError(f"points[{i}] must be [x, y], got {p!r}")
        return self
