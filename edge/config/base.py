"""Shared base for config models: unknown keys rejected, strict types, frozen."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIN_PIXELS = 16
"""Smallest width or height of a frame the config may name."""
MAX_PIXELS = 8192
"""Largest width or height of a frame the config may name (8K); bounds what a node allocates."""


def absolute_path(path: str) -> str:
    """*path*, when it is absolute; a relative one would depend on the directory the node
    happens to start in (``/`` under systemd, the home directory by hand)."""
    if not path.startswith("/"):
        raise ValueError(
            f"{path!r} is a relative path: give an absolute one (the node starts in / under "
            "systemd, so a relative path names a different place there than where you are)"
        )
    return path


class Section(BaseModel):
    """A config section. Unknown keys are errors; values are never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Outline(Section):
    """A polygon drawn on a camera's view, in pixels of the camera's ``resolution``."""

    points: list[list[Annotated[float, Field(ge=-MAX_PIXELS, le=MAX_PIXELS)]]] = Field(
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
