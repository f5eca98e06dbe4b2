"""A node on a full disk (a real tmpfs filled to the last byte): the siren sounds at once,
the smoke alarm is stored in the reserve and delivered, later events wait in memory (sent
from memory at once, like the heartbeat), the node says `degraded` / `disk_full` in its
state, lamp and heartbeat, and once space returns every waiting event is stored and
delivered, in order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Subscribe
from faults import fill, small_disk
from nodecfg import node_config, sensor, tls_destination

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.node.node import Node
from edge.sensors.outputs import Status

pytestmark = pytest.mark.faults

OUTPUTS = """
[health]
interval_s = 5
[outbox]
reserve_bytes = 1048576
[[outputs]]
name = "siren"
kind = "siren"
pin = 24
kinds = ["smoke"]
duration_s = 60
[[outputs]]
name = "lamp"
kind = "status_led"
pin = 25
"""


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_full_disk_loses_no_alarm_and_says_so(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """Smoke on a full disk: siren on before anything is stored, the alarm stored in the
    reserve and delivered; door events on a still-full disk are stored while the WAL has
    room left, and the first that cannot be stored waits in memory and is sent from memory
    at once (degraded, disk_full in the heartbeat that still goes out, lamp blinking
    degraded); space freed: it is stored and delivered again (the same id: the receiver
    keeps one), the fault clears."""
    with small_disk(tmp_path / "disk", "16m") as disk:
        text = node_config(
            disk / "data",
            "n-df",
            "semarang",
            mock_gpio=True,
            sensors=[
                sensor("smoke", "smoke", pin=22, debounce_s=0),
                sensor("door", "door", pin=17, debounce_s=0, flap_changes=1000),
            ],
            destinations=[tls_destination(broker, ca, node_cert)],
            extra=OUTPUTS,
        )
        police = subscribe("warehouse/semarang/n-df/#")
        node = Node(loads(text))
        pins = node.pin_factory
        pins.pin(22).drive_low()
        pins.pin(17).drive_low()
        node.start()
        try:
            assert node.links[0].wait_connected(15)
            assert node.outbox.reserve.held
            filler = fill(disk)

            pins.pin(22).drive_high()  # smoke
            # at once (the panel's thread, siren first): before and regardless of storage
            assert _until(lambda: node.sirens[0].is_on, 2)
            assert not node.outbox.reserve.held  # given up to store the alarm
            assert _until(lambda: _kinds(police, "events") == ["smoke"], 15)

            fill(disk, "filler2.bin")  # whatever the reserve freed is taken again
            doors = 0
            while node.sink.fault is None and doors < 200:  # until the WAL's room is gone
                door = pins.pin(17)
                door.drive_low() if doors % 2 else door.drive_high()
                doors += 1
                assert node.sensors[1].loop.settle(10)  # handled on the panel's thread
            assert node.sink.fault == "disk_full" and len(node.sink.backlog) == 1
            expected = ["smoke"] + ["door_open"] * doors
            assert _until(lambda: _kinds(police, "events") == expected, 5)
            state = node.state()
            assert state.status in (Status.DEGRADED, Status.ALARM)
            assert "disk_full" in state.reasons
            assert _until(lambda: _health_says(police, "disk_full"), 20)
            node.gpio.sirens[0].reset()
            assert _until(lambda: node.gpio.lamps[0].status is Status.DEGRADED, 5)

            filler.unlink()
            (disk / "filler2.bin").unlink()
            assert _until(lambda: node.sink.fault is None and not len(node.sink.backlog), 20)
            assert _until(lambda: node.outbox.total() == 0, 20)  # the stored copy went too
            assert _kinds(police, "events") == [*expected, "door_open"]
            ids = [m.payload for m in police.messages if m.topic.endswith("events")]
            assert ids[-2] == ids[-1]  # one event, twice: the receiver drops the copy by id
            assert _until(lambda: node.outbox.reserve.held, 10)  # held again once room
        finally:
            node.stop()


def _kinds(police: Subscriber, suffix: str) -> list[str]:
    msgs = [m for m in police.messages if m.topic.endswith(suffix)]
    return [json.loads(m.payload)["kind"] for m in msgs]


def _health_says(police: Subscriber, reason: str) -> bool:
    msgs = [m for m in police.messages if m.topic.endswith("/health")]
    return any(reason in json.loads(m.payload).get("reasons", []) for m in msgs)


def _smoke_starts(police: Subscriber) -> list[tuple[str, float]]:
    out = []
    for m in list(police.messages):
        if m.topic.endswith("/events"):
            e = json.loads(m.payload)
            if e["kind"] == "smoke" and e["state"] == "start":
                out.append((e["id"], m.at))
    return out


def test_a_second_smoke_alarm_on_a_still_full_disk_goes_at_once(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """Two smoke alarms on a disk kept full (whatever a step of the reserve frees is taken
    again at once): each reaches the police within 2 s of its trip, stored or, if the
    outbox cannot take it, sent from memory like a heartbeat (never only waiting in
    memory); space freed, nothing waits any more and both are delivered."""
    with small_disk(tmp_path / "disk", "16m") as disk:
        text = node_config(
            disk / "data",
            "n-df2",
            "semarang",
            mock_gpio=True,
            sensors=[sensor("smoke", "smoke", pin=22, debounce_s=0)],
            destinations=[tls_destination(broker, ca, node_cert)],
            extra=OUTPUTS,
        )
        police = subscribe("warehouse/semarang/n-df2/#", client_id="df2-watch")
        node = Node(loads(text))
        smoke = node.pin_factory.pin(22)
        smoke.drive_low()
        node.start()
        try:
            assert node.links[0].wait_connected(15)
            fills = [fill(disk)]
            for n in (1, 2):
                at = time.time()
                smoke.drive_high()
                assert _until(lambda n=n: len(_smoke_starts(police)) >= n, 5)  # type: ignore[misc]
                assert _smoke_starts(police)[n - 1][1] - at < 2.0
                smoke.drive_low()
                fills.append(fill(disk, f"filler-{n}.bin"))
            for f in fills:
                f.unlink()
            assert _until(lambda: not len(node.sink.backlog) and node.outbox.total() == 0, 20)
            assert len({i for i, _ in _smoke_starts(police)}) == 2
        finally:
            node.stop()
