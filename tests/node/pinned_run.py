"""`edge run` in a process of its own, on gpiozero's MockFactory pins that the test drives and
reads from outside: ``python pinned_run.py CONFIG --watch 24,25 [--wedge]``.

It is the real command (``edge.cli.main.main(["run", "--config", CONFIG])``: its signal
handlers, its build, its watchdog loop, its exit); only the pin factory is one this process
owns. Each sensor's input starts at rest (its contact as it is when nothing happens). Lines on
stdin drive pins: ``trip 22`` (the sensor at pin 22 sees its event), ``rest 22``. Every
change of a pin listed in ``--watch`` is printed on stdout as ``pin 24 1`` (or ``0``),
flushed, the first state at once. ``--wedge`` makes every camera's analysis stick in its
first frame for good (a wedged detector call).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

import edge.sensors.pins
from edge.config.loader import load

PINS = MockFactory()
REST: dict[int, bool] = {}
"""Input pin -> its level at rest (True: high)."""


class RestingPin(MockPin):  # type: ignore[misc]
    """A mock input that goes to its resting level once its pull is set (not to the pull)."""

    def __init__(self, factory: Any, info: Any, high: bool = False) -> None:
        self.rest_high = high
        super().__init__(factory, info)

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        (self.drive_high if self.rest_high else self.drive_low)()


def _factory(_cfg: Any) -> MockFactory:
    return PINS


def _drive() -> None:
    for line in sys.stdin:
        words = line.split()
        if len(words) == 2 and words[0] in ("trip", "rest"):
            n = int(words[1])
            high = REST.get(n, False) != (words[0] == "trip")
            pin = PINS.pin(n)
            (pin.drive_high if high else pin.drive_low)()


def _watch(pins: list[int]) -> None:
    seen: dict[int, object] = {}
    while True:
        for n in pins:
            state = PINS.pin(n).state
            if seen.get(n, "unset") != state:
                seen[n] = state
                print(f"pin {n} {int(bool(state))}", flush=True)
        time.sleep(0.005)


def _wedge() -> None:
    from edge.node.camera import CameraWorker

    original = CameraWorker._analyse_frame
    stuck = threading.Event()

    def analyse(self: CameraWorker, frame: Any) -> None:
        original(self, frame)
        stuck.wait()  # never set: analysis stuck in a call

    CameraWorker._analyse_frame = analyse  # type: ignore[method-assign]


def main() -> int:
    """Run `edge run` on the mock pins."""
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("--watch", default="")
    p.add_argument("--wedge", action="store_true")
    args = p.parse_args()
    edge.sensors.pins.make_pin_factory = _factory  # type: ignore[assignment]
    for s in load(args.config).sensors:
        REST[s.pin] = s.pull_up != (s.active_when == "open")  # closed pulls to ground
        PINS.pin(s.pin, pin_class=RestingPin, high=REST[s.pin])
    watched = [int(n) for n in filter(None, args.watch.split(","))]
    threading.Thread(target=_drive, daemon=True).start()
    threading.Thread(target=_watch, args=(watched,), daemon=True).start()
    if args.wedge:
        _wedge()
    from edge.cli.main import main as edge_main

    return edge_main(["run", "--config", args.config])


if __name__ == "__main__":
    raise SystemExit(main())
