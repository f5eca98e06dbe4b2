"""gpiozero's errors, translated at the hardware edge into :class:`edge.core.errors.SensorError`
naming the device, its config key and its pin (a GPIO fault at start is one clear line, not
a traceback; ``edge run`` gives its advice for it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gpiozero.exc import GPIOPinInUse, GPIOZeroError, PinFixedPull, PinInvalidPin

from edge.core.errors import SensorError

T = TypeVar("T")

_HINTS: tuple[tuple[type[Exception], str], ...] = (
    (GPIOPinInUse, "the pin is already used (two devices on one pin, or another program)"),
    (PinInvalidPin, "no such pin on this board"),
    (PinFixedPull, "this pin has a fixed pull resistor: set pull_up to match it"),
)


def device_key(section: str, index: int | None, name: str) -> str:
    """How an error names a configured device: ``sensors[0] ('door')``."""
    where = section if index is None else f"{section}[{index}]"
    return f"{where} ({name!r})"


def describe(exc: BaseException) -> str:
    """A short reason for a GPIO failure: a hint for the known ones, then the original."""
    hint = next((h for t, h in _HINTS if isinstance(exc, t)), "")
    original = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return f"{hint} ({original})" if hint else original


def opening(key: str, pin: int, make: Callable[[], T]) -> T:
    """Open a gpiozero device (``make()``); any failure raises :class:`SensorError` naming
    *key* and *pin* (the cause chained). At start anything may come up from a pin driver
    (gpiozero's own errors, lgpio's, an OSError), so every failure is translated here."""
    try:
        return make()
    except Exception as e:
        raise SensorError(f"{key}: cannot open GPIO pin {pin}: {describe(e)}") from e


def using(key: str, pin: int, op: str, call: Callable[[], T]) -> T:
    """Read or drive an open device (``call()``); gpiozero's and the OS's errors raise
    :class:`SensorError` naming *key*, *pin* and *op* (a bug still raises as itself)."""
    try:
        return call()
    except (GPIOZeroError, OSError) as e:
        raise SensorError(f"{key}: GPIO pin {pin}: cannot {op}: {describe(e)}") from e
