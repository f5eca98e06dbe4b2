"""gpiozero's callbacks only record an edge; the panel's own thread runs the event path. A slow
store delays events, never the recording of edges; the siren sounds before the store;
gpiozero's errors become SensorError naming the device and its pin."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import structlog
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory
from nodecfg import node_config, sensor
from timing import wait_until

from edge.config.loader import loads
from edge.config.sensors import OutputConfig, SensorConfig
from edge.core.errors import SensorError
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.sink import EventStore
from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren

SIREN = """
[[outputs]]
name = "siren"
kind = "siren"
pin = 24
duration_s = 60
"""


class SlowStore:
    """The node's real store behind a gate: ``store_event`` blocks until the test opens it
    (an SD card that takes its time); it notes when each call began and ended."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.stored: list[str] = []

    def store_event(self, event: Event) -> Sequence[str]:
        """Wait for the gate, then store for real."""
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        out = self.store.store_event(event)
        self.stored.append(event.id)
        return out


def test_a_blocked_event_path_does_not_stop_edges_being_recorded() -> None:
    """The event path of one input blocks (its emit waits on a gate): edges on that pin and
    on another keep being recorded at once (the driving thread, which runs gpiozero's
    callbacks on the MockFactory, is never held up); once the path frees, every event is
    reported in order."""
    pins = MockFactory()
    gate, events = threading.Event(), []
    lock = threading.Lock()

    def slow_emit(e: Event) -> None:
        assert gate.wait(30)
        with lock:
            events.append((e.sensor, str(e.kind), str(e.state)))

    cfgs = [
        SensorConfig(name="door", kind="door", pin=17, debounce_s=0),
        SensorConfig(name="smoke", kind="smoke", pin=27, active_when="closed", debounce_s=0),
    ]
    door = ContactInput(cfgs[0], EventFactory("n", "s"), slow_emit, pins)
    smoke = ContactInput(cfgs[1], EventFactory("n", "s"), slow_emit, pins, loop=door.loop)
    pins.pin(17).drive_low()  # at rest (after the pull-up exists): door closed, no smoke
    pins.pin(27).drive_high()
    door.start()
    smoke.start()
    driven = threading.Event()

    def drive() -> None:
        pins.pin(17).drive_high()  # door opens: its event path blocks on the gate
        pins.pin(17).drive_low()
        pins.pin(27).drive_low()  # smoke, on another pin
        pins.pin(27).drive_high()
        driven.set()

    threading.Thread(target=drive, name="test-driver", daemon=True).start()
    try:
        assert driven.wait(5), "gpiozero's callback thread was held up by the event path"
        assert door.loop.recorded >= 2 + 4  # two first reads, four edges
        assert events == []  # nothing got through the blocked path yet
    finally:
        gate.set()
    assert door.loop.settle(10)
    assert events == [
        ("door", "door_open", "start"),
        ("door", "door_open", "end"),
        ("smoke", "smoke", "start"),
        ("smoke", "smoke", "end"),
    ]
    smoke.close()
    door.close()


def test_the_siren_sounds_before_the_store_when_the_store_is_slow(tmp_path: Path) -> None:
    """Decided order, siren first: on the real node, smoke while the outbox's store blocks:
    the siren is on while the store has not returned; once it does, the event is stored."""
    from edge.node.node import Node

    cfg = loads(
        node_config(
            tmp_path,
            "n",
            mock_gpio=True,
            sensors=[sensor("smoke", "smoke", pin=4, debounce_s=0)],
            extra=SIREN,
        )
    )
    node = Node(cfg)
    slow = SlowStore(node.sink.store)
    node.sink.store = slow
    stored: list[Event] = []
    node.sink.subscribe(stored.append)
    node.start()
    try:
        node.pin_factory.pin(4).drive_high()  # the smoke loop is cut
        assert slow.entered.wait(10)  # the store is under way and held
        assert wait_until(lambda: node.sirens[0].is_on, 5)
        assert slow.stored == [] and stored == []  # sounding before anything is stored
        slow.gate.set()
        assert wait_until(lambda: [e.kind for e in stored] == ["smoke"], 10)
    finally:
        slow.gate.set()
        node.stop()


def test_an_edge_whose_event_path_raises_is_logged_and_the_next_one_runs() -> None:
    """A bug in the event path of one edge: logged gpio.handler_failed, and the panel's
    thread goes on with the next edge."""
    pins = MockFactory()
    seen: list[str] = []

    def emit(e: Event) -> None:
        seen.append(str(e.state))
        if len(seen) == 1:
            raise RuntimeError("bug in the event path")

    c = ContactInput(
        SensorConfig(name="door", kind="door", pin=17, debounce_s=0),
        EventFactory("n", "s"),
        emit,
        pins,
    )
    pins.pin(17).drive_low()  # door closed
    c.start()
    with structlog.testing.capture_logs() as logs:
        pins.pin(17).drive_high()
        pins.pin(17).drive_low()
        assert c.loop.settle(10)
    assert seen == ["start", "end"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["gpio.handler_failed"]
    assert c.loop.health().alive
    c.close()


def test_a_pin_in_use_is_a_sensor_error_naming_the_device_and_pin(tmp_path: Path) -> None:
    """A pin another device holds: SensorError naming the config key and the pin, the pins
    the panel opened before it released (they can be opened again)."""
    from edge.sensors.panel import Panel

    pins = MockFactory()
    holder = DigitalInputDevice(27, pin_factory=pins)  # another program holds GPIO27
    cfg = loads(
        node_config(
            tmp_path,
            "n",
            sensors=[sensor("door", "door", pin=17), sensor("smoke", "smoke", pin=27)],
        )
    )
    with pytest.raises(SensorError, match=r"sensors\[1\] \('smoke'\): cannot open GPIO pin 27: "):
        Panel(cfg, EventFactory("n", "s"), lambda _e: None, pins)
    DigitalInputDevice(17, pin_factory=pins).close()  # sensors[0]'s pin was released
    holder.close()


def test_a_siren_that_cannot_be_driven_is_a_sensor_error() -> None:
    """At runtime: driving a relay whose device is gone raises SensorError with the pin."""
    pins = MockFactory()
    siren = Siren(OutputConfig(name="siren", kind="siren", pin=24), pins)
    siren.device.close()
    with pytest.raises(SensorError, match=r"outputs \('siren'\): GPIO pin 24: cannot switch"):
        siren.sound("test")
    siren.loop.shutdown(5)


def test_one_siren_whose_pin_fails_does_not_keep_the_others_quiet(tmp_path: Path) -> None:
    """Two sirens, the first one's relay gone: a smoke alarm still sounds the second (the
    first's SensorError logged gpio.output_failed); a lamp that fails does not stop show."""
    from edge.events.model import Kind, Severity, State
    from edge.sensors.outputs import Status
    from edge.sensors.panel import Panel

    more = SIREN + SIREN.replace('"siren"\nkind', '"siren-2"\nkind').replace("24", "25")
    lamp = '[[outputs]]\nname = "lamp"\nkind = "status_led"\npin = 26\n'
    cfg = loads(node_config(tmp_path, "n", extra=more + lamp))
    panel = Panel(cfg, EventFactory("n", "s"), lambda _e: None, MockFactory())
    panel.sirens[0].device.close()
    panel.lamps[0].led.close()
    smoke = EventFactory("n", "s").make(Kind.SMOKE, Severity.CRITICAL, State.START, "o1")
    with structlog.testing.capture_logs() as logs:
        panel.on_event(smoke)
        panel.show(Status.HEALTHY)  # steady on: driven at once
    assert panel.sirens[1].is_on
    failed = [e["output"] for e in logs if e["event"] == "gpio.output_failed"]
    assert failed == ["siren", "lamp"]
    panel.stop()


def test_an_input_whose_pin_cannot_be_read_says_so_in_its_status() -> None:
    """The heartbeat's row of an input whose device is gone: 'unreadable' with the key and
    pin, not an exception that would cost the whole heartbeat."""
    pins = MockFactory()
    c = ContactInput(
        SensorConfig(name="door", kind="door", pin=17),
        EventFactory("n", "s"),
        lambda _e: None,
        pins,
    )
    c.device.close()
    row = c.status()
    assert row["contact"].startswith("unreadable: sensors ('door'): GPIO pin 17: cannot read")
    c.loop.shutdown(5)
