"""GPIO inputs and outputs on gpiozero's MockFactory: the right events for each kind, a door
left open, a flapping input bounded to one fault, the siren, the status lamp, `edge sensors`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from nodecfg import file_camera, node_config, sensor

from edge.bench.sensors import format_sensors
from edge.cli.main import main
from edge.config.loader import ConfigError, loads
from edge.config.sensors import OutputConfig, SensorConfig
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.node.replay import flush_clips, wait_cameras
from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren, Status, StatusLed


class Recorder:
    """Collects emitted events (thread-safe)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, e: Event) -> None:
        with self.lock:
            self.events.append(e)

    def kinds(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(str(e.kind), str(e.state)) for e in self.events]


def settle(c: ContactInput) -> None:
    """Wait until the input's loop handled every edge recorded (callbacks only record)."""
    assert c.loop.settle(10)


def _input(pins: MockFactory, rec: Recorder, rest: str = "drive_low", **kw: object) -> ContactInput:
    """An input whose contact is in its resting state (*rest*) before it starts watching
    (the pull-up only takes effect once the device exists)."""
    cfg = SensorConfig(**{"name": "s1", "kind": "door", "pin": 17, **kw})  # type: ignore[arg-type]
    c = ContactInput(cfg, EventFactory("n", "s"), rec, pin_factory=pins)
    getattr(pins.pin(cfg.pin), rest)()
    c.start()
    return c


@pytest.mark.parametrize(
    "kind,active_when,trip,kind_out,severity",
    [
        ("door", "open", "drive_high", "door_open", "warning"),  # NC loop opens
        ("smoke", "closed", "drive_low", "smoke", "critical"),  # relay closes on smoke
        ("tamper", "open", "drive_high", "tamper", "alarm"),  # case opened
        ("pir", "closed", "drive_low", "pir", "info"),
    ],
)
def test_each_kind_raises_its_event(
    kind: str, active_when: str, trip: str, kind_out: str, severity: str
) -> None:
    """Tripping the contact raises START with sensor, pin, linked cameras and the kind's
    severity; restoring it raises END with the duration."""
    pins, rec = MockFactory(), Recorder()
    pin = pins.pin(17)
    rest = "drive_low" if trip == "drive_high" else "drive_high"
    c = _input(pins, rec, rest, kind=kind, active_when=active_when, debounce_s=0.0, cameras=[])
    assert rec.events == []
    getattr(pin, trip)()
    (pin.drive_low if trip == "drive_high" else pin.drive_high)()
    settle(c)
    assert rec.kinds() == [(kind_out, "start"), (kind_out, "end")]
    start, end = rec.events
    assert start.sensor == "s1" and start.severity == severity and start.data["pin"] == 17
    assert end.occurrence == start.occurrence and "seconds" in end.data
    c.close()


def test_active_at_start_is_reported_at_once() -> None:
    """A door already open when the node starts is reported immediately."""
    pins, rec = MockFactory(), Recorder()
    _input(pins, rec, "drive_high").close()
    assert rec.kinds()[0] == ("door_open", "start")


def test_door_left_open_fires_after_its_delay_and_clears_on_close() -> None:
    """Open for longer than left_open_s: door_left_open START; closing ends both."""
    pins, rec = MockFactory(), Recorder()
    pin = pins.pin(17)
    pin.drive_low()
    c = _input(pins, rec, left_open_s=0.3, debounce_s=0.0)
    pin.drive_high()
    settle(c)
    time.sleep(0.15)
    assert rec.kinds() == [("door_open", "start")]
    time.sleep(0.35)
    assert rec.kinds() == [("door_open", "start"), ("door_left_open", "start")]
    pin.drive_low()
    settle(c)
    assert rec.kinds()[2:] == [("door_open", "end"), ("door_left_open", "end")]
    time.sleep(0.4)
    pin.drive_high()  # a short opening never becomes 'left open'
    pin.drive_low()
    time.sleep(0.4)
    assert [k for k in rec.kinds() if k[0] == "door_left_open"] == [
        ("door_left_open", "start"),
        ("door_left_open", "end"),
    ]
    c.close()


def test_bounce_is_reported_once_then_the_settled_state() -> None:
    """A contact that bounces five times within the debounce time: the first change at
    once, then, after the debounce, the state it settled in."""
    pins, rec = MockFactory(), Recorder()
    pin = pins.pin(17)
    pin.drive_low()
    c = _input(pins, rec, debounce_s=0.1)
    for _ in range(5):
        pin.drive_high()
        pin.drive_low()
    pin.drive_high()  # settles open
    settle(c)
    assert rec.kinds() == [("door_open", "start")]
    time.sleep(0.25)
    assert rec.kinds() == [("door_open", "start")]  # settled where it was reported
    pin.drive_low()
    time.sleep(0.25)
    assert rec.kinds() == [("door_open", "start"), ("door_open", "end")]
    c.close()


@pytest.mark.slow
def test_1khz_for_10s_gives_bounded_events_and_one_fault() -> None:
    """An input toggled at 1 kHz for 10 s (10,000 edges). Bound: at most flap_changes state
    events before the flapping is recognised, then one sensor_fault START, nothing while it
    flaps, one END once quiet, and the settled state: <= flap_changes + 3 events in all."""
    pins, rec = MockFactory(), Recorder()
    pin = pins.pin(17)
    pin.drive_low()
    c = _input(pins, rec, flap_changes=20, flap_window_s=2.0, fault_holdoff_s=300)
    t0 = time.perf_counter()
    for i in range(10_000):
        (pin.drive_high if i % 2 == 0 else pin.drive_low)()
        delay = t0 + (i + 1) / 1000 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    assert time.perf_counter() - t0 < 12
    settle(c)
    assert c.edges == 10_000 and c.flapping
    faults = [e for e in rec.events if e.kind == "sensor_fault"]
    assert len(faults) == 1 and faults[0].state == "start"
    assert faults[0].data["reason"] == "flapping"
    time.sleep(2.6)  # quiet for the flap window: the fault ends, the state is reported
    assert not c.flapping
    assert [e.state for e in rec.events if e.kind == "sensor_fault"] == ["start", "end"]
    assert len(rec.events) <= 20 + 3
    c.close()


def test_siren_on_for_an_armed_door_alarm_and_off_after_its_time(tmp_path: Path) -> None:
    """A door armed around the clock opens: the siren relay switches on, and off again after
    duration_s; an unarmed door (information) leaves it off; the reset key silences it."""
    from edge.node.node import Node

    outputs_and_rules = """
[[outputs]]
name = "siren"
kind = "siren"
pin = 24
duration_s = 0.5
[rules]
[[rules.schedules]]
name = "always"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:59"
[[rules.arming]]
sensor = "door"
disarmed_during = []
[[rules.arming]]
sensor = "office-door"
disarmed_during = ["always"]
"""
    cfg = loads(
        node_config(
            tmp_path,
            "n",
            mock_gpio=True,
            sensors=[
                sensor("door", "door", pin=17, debounce_s=0),
                sensor("office-door", "door", pin=18, debounce_s=0),
                sensor("reset-key", "reset", pin=19, active_when="closed", debounce_s=0),
            ],
            extra=outputs_and_rules,
        )
    )
    node = Node(cfg)
    pins = node.pin_factory
    for n in (17, 18):
        pins.pin(n).drive_low()
    pins.pin(19).drive_high()
    siren_pin = pins.pin(24)
    events: list[Event] = []
    node.sink.subscribe(events.append)
    node.start()
    try:
        assert siren_pin.state is False or siren_pin.state == 0
        pins.pin(18).drive_high()  # disarmed door: information only
        assert node.gpio.loop.settle(10)
        assert not node.sirens[0].is_on
        pins.pin(17).drive_high()  # armed door: alarm
        assert node.gpio.loop.settle(10)
        assert node.sirens[0].is_on and siren_pin.state
        assert [e.severity for e in events if e.sensor == "door"] == ["alarm"]
        assert [e.severity for e in events if e.sensor == "office-door"] == ["info"]
        time.sleep(0.8)
        assert not node.sirens[0].is_on  # off after its time
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        assert node.gpio.loop.settle(10)
        assert node.sirens[0].is_on
        pins.pin(19).drive_low()  # the reset key
        assert node.gpio.loop.settle(10)
        assert not node.sirens[0].is_on
        assert node.status() is Status.HEALTHY
    finally:
        node.stop()


def test_status_lamp_patterns() -> None:
    """Healthy is steady; alarm blinks fast (many toggles); changes only on a new status."""
    pins = MockFactory()
    lamp = StatusLed(OutputConfig(name="lamp", kind="status_led", pin=5), pins)
    pin = pins.pin(5)
    lamp.show(Status.HEALTHY)
    assert pin.state
    before = len(pin.states)
    lamp.show(Status.ALARM)
    time.sleep(0.65)
    fast = len(pin.states) - before
    lamp.show(Status.DEGRADED)
    before = len(pin.states)
    time.sleep(0.65)
    slow = len(pin.states) - before
    assert fast >= 5 and slow <= 2 and lamp.status is Status.DEGRADED
    lamp.close()


def test_siren_alone_ignores_what_is_not_its_business() -> None:
    """The siren reacts to alarms of its kinds only, and to START, not END."""
    pins = MockFactory()
    siren = Siren(OutputConfig(name="s", kind="siren", pin=6, kinds=["smoke"], duration_s=5), pins)
    f = EventFactory("n", "s")
    siren.on_event(f.make(Kind.DOOR_OPEN, Severity.ALARM, State.START, "o1"))
    siren.on_event(f.make(Kind.SMOKE, Severity.CRITICAL, State.END, "o2"))
    assert not siren.is_on
    siren.on_event(f.make(Kind.SMOKE, Severity.CRITICAL, State.START, "o3"))
    assert siren.is_on and siren.cause == "smoke:None"
    siren.close()


def test_pins_checked_in_config() -> None:
    """Two devices on one pin are named; a pin the header does not have is refused."""
    base = '[node]\nid = "n"\nsite = "s"\n'
    with pytest.raises(
        ConfigError,
        match=r"outputs\[0\].pin: GPIO17 is already used by "
        r"sensors\[0\] \('door'\); 'siren' needs",
    ):
        loads(
            base + '[[sensors]]\nname = "door"\nkind = "door"\npin = 17\n'
            '[[outputs]]\nname = "siren"\nkind = "siren"\npin = 17\n'
        )
    with pytest.raises(ConfigError, match=r"sensors\[0\].pin: must be < 28, got 40"):
        loads(base + '[[sensors]]\nname = "door"\nkind = "door"\npin = 40\n')


def test_edge_sensors_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`edge sensors --json` lists every input with its state; --once prints the table."""
    cfg = tmp_path / "n.toml"
    cfg.write_text(
        '[node]\nid = "n"\nsite = "s"\n[gpio]\nfactory = "mock"\n'
        '[[sensors]]\nname = "door"\nkind = "door"\npin = 17\n'
        '[[sensors]]\nname = "smoke"\nkind = "smoke"\npin = 27\n'
        'active_when = "closed"\n'
    )
    assert main(["sensors", "-c", str(cfg), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["pin"], r["active"]) for r in rows] == [
        ("door", 17, False),
        ("smoke", 27, False),
    ]  # the mock holds each contact at rest: a normally-closed loop closed, a relay open
    assert main(["sensors", "-c", str(cfg), "--once"]) == 0
    table = capsys.readouterr().out
    assert "door" in table and "idle" in table and "ACTIVE" not in table


def test_bench_sensors_reports_latency(capsys: pytest.CaptureFixture[str]) -> None:
    """`edge bench sensors --json`: every edge driven is a change the input sees and an event
    on disk (the door starts shut: no event at start), p50/p99 reported; the line says so."""
    assert main(["bench", "sensors", "--edges", "40", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["at_start"] == 0
    assert r["changes"] == r["accepted"] == r["stored"] == 40  # every edge's event on disk
    assert r["events"] >= 39  # timed: one may end its wait under load, still stored
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert "note" not in format_sensors({**r, "events": 40})
    short = format_sensors({**r, "changes": 39, "accepted": 39, "stored": 38, "events": 39})
    assert "saw 39 of the 40 edges" in short and "LOST: 1" in short


def _still_video(path: Path, seconds: float = 8.0) -> Path:
    """A camera watching an empty, unchanging room (H.264, 10 fps)."""
    from fractions import Fraction

    import av
    import numpy as np

    img = np.full((240, 320, 3), 120, np.uint8)
    img[60:180, 100:220] = 60
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.codec_context.time_base = Fraction(1, 10)
        s.options = {"g": "10"}
        for n in range(int(seconds * 10)):
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = n
            for pkt in s.encode(vf):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    return path


def test_door_opening_starts_a_clip_with_pre_roll_without_motion(tmp_path: Path) -> None:
    """Nothing moves in view; the door linked to the camera opens: a clip is cut on that
    camera, starting before the door opened, and the door event names it."""
    from edge.node.node import Node

    video = _still_video(tmp_path / "still.mp4")
    cfg = loads(
        node_config(
            tmp_path / "data",
            "n",
            mock_gpio=True,
            extra="[clips]\npre_roll_s = 2\npost_roll_s = 1",
            cameras=[file_camera("bay", video, fps=5, realtime=True)],
            sensors=[sensor("door", "door", pin=17, debounce_s=0, cameras=["bay"])],
        )
    )
    node = Node(cfg)
    node.pin_factory.pin(17).drive_low()
    events: list[Event] = []
    node.sink.subscribe(events.append)
    clips: list[dict[str, object]] = []
    node.finalizer.on_clip = lambda signed, _path: clips.append(signed["manifest"])
    node.start()
    try:
        time.sleep(4.0)  # 4 s of a still room
        opened = time.time()
        node.pin_factory.pin(17).drive_high()
        time.sleep(0.5)
        node.pin_factory.pin(17).drive_low()
        assert wait_cameras(node, 30)
        assert flush_clips(node, 30)
    finally:
        node.stop()
    assert not [e for e in events if e.kind in ("motion", "person")]
    door = [e for e in events if e.kind == "door_open" and e.state == "start"]
    assert door and door[0].clip_id
    assert len(clips) == 1 and clips[0]["clip_id"] == door[0].clip_id
    assert door[0].id in clips[0]["event_ids"]  # type: ignore[operator]
    assert float(clips[0]["start"]) <= opened - 1.5  # type: ignore[arg-type]
