"""The state file follows the node (``edge.node.statewatch``): a real node on MockFactory pins,
its heartbeat a minute apart; a door opened is in `edge status` within about a second, and
a door flapping is a handful of writes that show it flapping with its level now, then its
settled state once it has been quiet for the flap window."""

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
from edge.cli.status import render
from edge.config.loader import loads
from edge.node import heartbeat, statefile
from edge.node.node import Node
from edge.node.statewatch import MIN_GAP_S, StateWatch

DOOR_PIN = 17
FOLLOW_S = 1.5
"""`edge status` shows a change this soon (the contract is about 1 s, with margin)."""
FLAP_WINDOW_S = 2.0
"""The door's flap window (10 s by default): shorter, for the test to see it settle."""


@pytest.fixture
def door_node(tmp_path: Path) -> Iterator[tuple[Node, MockFactory, Path]]:
    """A started node with a door contact (closed at rest), a heartbeat every 60 s and one
    destination it cannot reach; its config path."""
    text = node_config(
        tmp_path / "data",
        "watched",
        extra="[health]\ninterval_s = 60",
        sensors=[sensor("door", "door", pin=DOOR_PIN, debounce_s=0.0, flap_window_s=FLAP_WINDOW_S)],
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


def _door_state(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str] | None:
    state = _status(config, capsys)["state"]
    if state is None:
        return None
    door = next(s for s in state["health"]["sensors"] if s["name"] == "door")
    return door["contact"], door["state"]


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


def test_a_flapping_door_shows_its_level_now_then_its_settled_state(
    door_node: tuple[Node, MockFactory, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """40 changes in about a second flap the door (its events fall silent): within FOLLOW_S
    of the last one `edge status` shows it ``flapping`` with its level now (closed); once it
    has been quiet for flap_window_s, the settled state (``idle``). Written at most once per
    MIN_GAP_S (plus the first and last)."""
    node, pins, config = door_node
    watch = _watch(node)
    assert wait_until(lambda: _door_state(config, capsys) == ("closed", "idle"), 10)
    pin = pins.pin(DOOR_PIN)
    before = watch.writes
    began = time.monotonic()
    for n in range(40):  # ends low: closed
        (pin.drive_high if n % 2 == 0 else pin.drive_low)()
        time.sleep(0.025)  # the pace of the flapping, not a wait for a result
    last_edge = time.monotonic()
    flapping_closed = functools.partial(_door_state, config, capsys)
    assert wait_until(lambda: flapping_closed() == ("closed", "flapping"), 10, step=0.01)
    took = time.monotonic() - last_edge
    capsys.readouterr()
    main(["status", "--config", str(config)])
    assert "door: closed, FLAPPING, active now False" in capsys.readouterr().out
    assert wait_until(lambda: _door_state(config, capsys) == ("closed", "idle"), 10 + FLAP_WINDOW_S)
    writes = watch.writes - before
    with capsys.disabled():
        print(f"40 changes: flapping, closed in edge status {took:.2f} s after; {writes} writes")
    assert took < FOLLOW_S
    assert 1 <= writes <= (time.monotonic() - began) / MIN_GAP_S + 2
    assert watch.health().alive


def test_a_door_that_moves_while_the_file_is_written_is_written_again(
    door_node: tuple[Node, MockFactory, Path],
) -> None:
    """The door flaps (its reported state frozen) and moves between the watch's look and its
    write: the file says ``open`` while the door is back ``closed``. The next look compares
    with what was written, not with what was looked at, so ``closed`` is written within a
    poll (not 10 s later, when the flapping ends)."""
    node, pins, _config = door_node
    pin = pins.pin(DOOR_PIN)
    for n in range(2 * node.cfg.sensors[0].flap_changes + 2):  # ends closed (low)
        (pin.drive_high if n % 2 == 0 else pin.drive_low)()
    assert node.sensors[0].loop.settle(60) and node.sensors[0].flapping
    written: list[dict[str, Any]] = []

    def write() -> dict[str, Any]:
        first = not written
        if first:
            pin.drive_high()  # the door opens after the look, before the write ...
        health = heartbeat.report(node)
        if first:
            pin.drive_low()  # ... and is closed again once the file is written
        written.append(health)
        return health

    watch = StateWatch(node, write=write, poll_s=0.01, min_gap_s=0.0)
    watch.start()
    try:
        assert wait_until(lambda: written and written[-1]["sensors"][0]["contact"] == "closed", 20)
    finally:
        watch.stop()
        watch.join(5)
    doors = [(h["sensors"][0]["contact"], h["sensors"][0]["state"]) for h in written]
    assert doors[:2] == [("open", "flapping"), ("closed", "flapping")]  # not ("closed", "idle")


def test_a_heartbeat_written_mid_flap_is_corrected_by_the_watch(
    door_node: tuple[Node, MockFactory, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The heartbeat writes the file too, with the door as it was when its report was taken
    (open, mid-flap); the door is closed since. The watch compares with what the file holds,
    so ``closed`` is back while the door still flaps (not once it settles)."""
    node, pins, config = door_node
    pin = pins.pin(DOOR_PIN)
    for n in range(2 * node.cfg.sensors[0].flap_changes + 2):  # ends closed (low)
        (pin.drive_high if n % 2 == 0 else pin.drive_low)()
    assert node.sensors[0].loop.settle(60) and node.sensors[0].flapping
    assert wait_until(lambda: _door_state(config, capsys) == ("closed", "flapping"), 10)
    assert wait_until(lambda: (node.housekeeper.rounds or 0) >= 1, 10)  # its first beat is done
    pin.drive_high()
    health = heartbeat.report(node)  # the heartbeat's look: open
    pin.drive_low()
    assert statefile.written(node.cfg, health) is health  # the file may say open now
    assert wait_until(lambda: _door_state(config, capsys) != ("open", "flapping"), 10, step=0.01)
    assert _door_state(config, capsys) == ("closed", "flapping")


def test_the_documented_line_of_a_flapping_door_is_what_edge_status_prints() -> None:
    """README and docs/faults.md quote `edge status`'s line of a flapping door (its level now,
    and the state last reported): the renderer prints exactly that."""
    line = "door: closed, FLAPPING, active now False (reported True)"
    door: dict[str, object] = {
        "name": "door",
        "kind": "door",
        "contact": "closed",
        "state": "flapping",
        "active": True,
        "active_now": False,
        "flapping": True,
        "faults": 1,
    }
    assert f"door         {line}, faults 1" in render(
        {"pid": 1, "health": {"sensors": [door]}}, 0, []
    )
    root = Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/faults.md"):
        text = " ".join((root / doc).read_text(encoding="utf-8").split())
        assert f"`{line}" in text, doc
