"""Shared base for config models: unknown keys rejected, strict types, frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Unknown keys are errors; values are never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
