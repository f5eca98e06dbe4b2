"""The config's sections as pydantic models, for the tests that go over every field."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from edge.config.root import EdgeConfig


def config_models() -> list[type[BaseModel]]:
    """Every model reachable from :class:`EdgeConfig` through its fields' annotations
    (``EdgeConfig`` itself first), each once."""
    seen: list[type[BaseModel]] = []

    def walk(tp: object) -> None:
        for arg in typing.get_args(tp):
            walk(arg)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen.append(tp)
            for f in tp.model_fields.values():
                walk(f.annotation)

    walk(EdgeConfig)
    return seen
