"""Which gpiozero pin factory the node uses: the configured mock (inputs at rest), or
gpiozero's default loaded up front, the same way ``edge check-config`` loads it
(:mod:`edge.config.gpio`)."""

from __future__ import annotations

from typing import Any

from edge.config.gpio import MOCK_WARNING, load_pin_factory
from edge.config.root import EdgeConfig
from edge.core.logs import get_logger

log = get_logger(__name__)


def make_pin_factory(cfg: EdgeConfig) -> Any:
    """The pin factory for *cfg*'s sensors and outputs: a ``MockFactory`` with every input at
    rest when configured (logged as a warning: it reads nothing real), else gpiozero's
    default factory, or None when no sensor or output needs one. Raises
    :class:`edge.config.gpio.PinFactoryError` (a configuration error, one line) when the
    default factory cannot be loaded on this machine."""
    factory = load_pin_factory(cfg)
    if cfg.gpio.factory == "mock":
        log.warning("gpio.mock_factory", warning=MOCK_WARNING)
    return factory
