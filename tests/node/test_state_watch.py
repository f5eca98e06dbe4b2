"""The state file follows the node (``edge.node.statewatch``): a real node on MockFactory pins,
its heartbeat a minute apart; a door opened is in `edge status` within about a second, and
a door flapping is a handful of writes, the last one its final state."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory
from nodecfg import node_config, sensor
from timing import wait_until

from edge.cli.main import main
from edge.config.loader import loads
from edge.node.node import Node
from edge.node.statewatch import MIN_GAP_S, StateWatch

DOOR_PIN = 17
FOLLOW_S = 1.5
"""`edge status` shows a change this soon (the contract is about 1 s, with margin)."""


@pytest.fixture
def door_node(tmp_path: Path) -> Iterator[tuple[Node, MockFactory, Path]]:
    """A started node with a door contact (closed at rest), a heartbeat every 60 s and one
    destination it cannot reach; its config path."""
    text = node_config(
        tmp_path / "data",
        "watched",
        extra="[health]\ninterval_s = 60",
        sensors=[sensor("door", "door", pin=DOOR_PIN, debounce_s=0.0)],
        destinations=[
            '[[destinations]]\nname = "police"\nhost = "127.0.0.1"\nport = 1\nallow_insecure = true'
        ],
    )
    config = tmp_path / "node.toml"
    config.write_text(text)
    pins = MockFactory()
    node = Node(loads(text), pin_factory=pins)
    pins.pin(DOOR_PIN).drive_low()  # the loop is closed: door shut (after the pull-up)
    node.start()
    try:
        yield node, pins, config
    finally:
        node.stop()


def _status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    main(["status", "--config", str(config), "--json"])
    # The node runs in this process: its log lines may land in the same capture.
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("{"))
    data: dict[str, Any] = json.loads(line)
    return data


def _door(config: Path, capsys: pytest.CaptureFixture[str]) -> str | None:
    state = _status(config, capsys)["state"]
    if state is None:
        return None
    return next((s["contact"] for s in state["health"]["sensors"] if s["name"] == "door"), None)


def _door_is(config: Path, capsys: pytest.CaptureFixture[str], contact: str) -> bool:
    return _door(config, capsys) == contact


def _watch(node: Node) -> StateWatch:
    return next(s for s in node.lifecycle.services if isinstance(s, StateWatch))


def test_a_door_opened_is_in_edge_status_within_a_second(
    door_node: tuple[Node, MockFactory, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The door opens: `edge status` says ``open`` within 1.5 s (a heartbeat is 60 s away);
    closed again, ``closed`` as soon."""
    _node, pins, config = door_node
    assert wait_until(lambda: _door(config, capsys) == "closed", 10)
    for drive, contact in (("drive_high", "open"), ("drive_low", "closed")):
        changed = time.monotonic()
        getattr(pins.pin(DOOR_PIN), drive)()
        assert wait_until(functools.partial(_door_is, config, capsys, contact), 10, step=0.01)
        took = time.monotonic() - changed
        with capsys.disabled():
            print(f"door {contact}: in edge status after {took:.2f} s")
        assert took < FOLLOW_S
    assert _status(config, capsys)["running"] is True


def test_a_flapping_door_is_a_few_writes_ending_in_its_last_state(
    door_node: tuple[Node, MockFactory, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """40 changes in about a second are written at most once per MIN_GAP_S (plus the first
    and last), and the file ends with the door as it was left (closed)."""
    node, pins, config = door_node
    watch = _watch(node)
    assert wait_until(lambda: _door(config, capsys) == "closed", 10)
    pin = pins.pin(DOOR_PIN)
    before = watch.writes
    began = time.monotonic()
    for n in range(40):
        (pin.drive_high if n % 2 == 0 else pin.drive_low)()
        time.sleep(0.025)  # the pace of the flapping, not a wait for a result
    pin.drive_low()
    # the callbacks only record the edges; the panel's thread handles them in order
    assert node.sensors[0].loop.settle(60)
    # 40 changes flap the input (more than flap_changes in flap_window_s): it is silent until
    # quiet for flap_window_s (10 s), then reported again; 10 s of margin on a loaded machine
    assert wait_until(lambda: _door(config, capsys) == "closed", 20)
    took = time.monotonic() - began
    writes = watch.writes - before
    with capsys.disabled():
        print(f"40 changes in {took:.2f} s: {writes} writes")
    assert 1 <= writes <= took / MIN_GAP_S + 2
    assert watch.health().alive
