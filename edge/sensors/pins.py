"""Which gpiozero pin factory the node uses: the configured mock, or gpiozero's default."""

from __future__ import annotations

from typing import Any

from edge.config.root import EdgeConfig


def make_pin_factory(cfg: EdgeConfig) -> Any:
    """gpiozero's MockFactory when configured, else None (gpiozero's default)."""
    if cfg.gpio.factory == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None
