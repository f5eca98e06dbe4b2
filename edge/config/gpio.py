"""The GPIO pin factory ``[gpio]`` names, loaded the one way both ``edge run`` (through
:func:`edge.sensors.pins.make_pin_factory`) and its preflight (``edge check-config``) load it.

``default`` is gpiozero's own choice (lgpio on a Raspberry Pi, or ``$GPIOZERO_PIN_FACTORY``),
loaded at once when a sensor or output needs it: a machine without GPIO support is then one
line naming ``gpio.factory`` and each library gpiozero tried, not a traceback from the first
sensor. ``mock`` is gpiozero's ``MockFactory`` with every input held at rest (contact closed
for a normally-closed loop, open for a normally-open contact), so a demo node does not wake
up to a smoke alarm; it reads and drives nothing real, and says so at every start.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from edge.config.root import EdgeConfig
from edge.config.sensors import SensorConfig
from edge.core.errors import ConfigurationError

MOCK_WARNING = (
    'gpio.factory: "mock" reads and drives no real GPIO (sensors stay at rest, sirens and '
    "lamps switch nothing): for tests and demos only, never on a guarded site; use "
    '"default" on the node'
)
"""What ``edge check-config`` prints and ``edge run`` logs for a mock pin factory."""


class PinFactory(Protocol):
    """What the node needs of a gpiozero pin factory itself (gpiozero is untyped): the
    devices take it as their ``pin_factory``; closing it frees the pins."""

    def close(self) -> None:
        """Release every pin the factory reserved."""


class PinFactoryError(ConfigurationError):
    """The configured pin factory cannot be loaded on this machine."""


def needs_pins(cfg: EdgeConfig) -> list[str]:
    """The config's GPIO devices (``sensors[0] ('door')``), which need a pin factory."""
    out = [f"sensors[{i}] ({s.name!r})" for i, s in enumerate(cfg.sensors)]
    out += [f"outputs[{i}] ({o.name!r})" for i, o in enumerate(cfg.outputs)]
    return out


def load_pin_factory(cfg: EdgeConfig) -> PinFactory | None:
    """The pin factory every GPIO device of *cfg* gets: the resting mock for ``mock``; for
    ``default``, gpiozero's default factory loaded now, or None when no sensor or output
    needs one. Raises :class:`PinFactoryError` (one line) when it cannot be loaded."""
    if cfg.gpio.factory == "mock":
        return resting_mock(cfg.sensors)
    devices = needs_pins(cfg)
    if not devices:
        return None
    import_lgpio_in(cfg.data_dir)
    return _default_factory(devices)


def import_lgpio_in(folder: Path) -> None:
    """Import lgpio (gpiozero's pin factory on a Raspberry Pi), when installed, with *folder*
    as the working folder. At import lgpio makes its notification pipes (``.lgd-nfy*``) in the
    working folder and fails where that is not writable: ``/`` under systemd, a technician's
    shell somewhere; the node's data folder is the service user's. Any failure is left for
    gpiozero to report (it imports lgpio again)."""
    try:
        here = os.getcwd()
        os.chdir(folder)
    except OSError:  # the data folder's own problem is preflight's to name
        return
    try:
        with contextlib.suppress(Exception):  # not installed, or no pipes: gpiozero names it
            importlib.import_module("lgpio")
    finally:
        os.chdir(here)


def gpio_problems(cfg: EdgeConfig) -> list[str]:
    """Why ``edge run`` could not load the pin factory of *cfg* on this machine ([] when it
    can). The factory is loaded as the node loads it, then closed again."""
    try:
        factory = load_pin_factory(cfg)
    except PinFactoryError as e:
        return [str(e)]
    if factory is not None:
        factory.close()
    return []


def _default_factory(devices: Sequence[str]) -> PinFactory:
    from gpiozero import Device

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            factory: PinFactory = Device._default_pin_factory()
            return factory
        except Exception as e:  # gpiozero's BadPinFactory, an import error, an OS error
            tried = (
                "; ".join(str(w.message).removeprefix("Falling back from ") for w in caught)
                or f"{type(e).__name__}: {e}"
            )
            more = f" and {len(devices) - 1} more" if len(devices) > 1 else ""
            raise PinFactoryError(
                f'gpio.factory: "default" cannot load a GPIO pin factory on this machine '
                f"({tried}), needed by {devices[0]}{more}: on a Raspberry Pi the node's venv "
                "needs lgpio (deploy/ installs it: run site.yml) or set GPIOZERO_PIN_FACTORY; "
                "on a machine without GPIO "
                'remove the sensors and outputs (gpio.factory = "mock" is for tests and demos)'
            ) from None


def resting_level(sensor: SensorConfig) -> bool:
    """The pin level (True: high) of *sensor*'s input at rest: its contact closed when
    ``active_when = "open"`` (a normally-closed loop), open otherwise; a closed contact pulls
    the pin to ground with the pull-up on, to 3.3 V with it off."""
    closed = sensor.active_when == "open"
    return sensor.pull_up != closed


def resting_mock(sensors: Sequence[SensorConfig]) -> PinFactory:
    """gpiozero's ``MockFactory`` whose sensor pins start at rest (see :func:`resting_level`)
    instead of at their pull (which reads a normally-closed smoke loop as cut: an alarm)."""
    from gpiozero.pins.mock import MockFactory, MockPin

    class RestingPin(MockPin):  # type: ignore[misc]
        """A mock input that settles at its sensor's resting level when it is set up."""

        def __init__(self, factory: object, info: object, rest: bool = False) -> None:
            self._rest = rest
            super().__init__(factory, info)

        def _set_pull(self, value: str) -> None:
            super()._set_pull(value)
            if self._rest:
                self.drive_high()
            else:
                self.drive_low()

    mock = MockFactory()
    for sensor in sensors:
        mock.pin(sensor.pin, pin_class=RestingPin, rest=resting_level(sensor))
    factory: PinFactory = mock
    return factory
