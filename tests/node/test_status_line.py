"""systemd's STATUS= line: what is wrong, in one line, from the node's state; sent with READY,
then on change at most every few seconds, with the watchdog pings that stop while the node is
wedged."""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import timing
from timing import FakeClock

from edge.core.lifecycle import ServiceHealth
from edge.node.liveness import LivenessCheck, Progress, Reading, Stall, Vitals
from edge.node.status import NodeState, node_state
from edge.node.statusline import MAX_CHARS, StatusBoard, Summary, duration, status_line
from edge.node.watchdog import run_until
from edge.sensors.outputs import Status

wait_until = functools.partial(timing.wait_until, step=0.01)
"""The shared poll (timing.wait_until), every 10 ms."""


def _link(name: str, connected: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        dest=SimpleNamespace(name=name),
        connected=connected,
        stats=SimpleNamespace(delivery_error=None, duplicate_id=False, certificate_refused=None),
    )


def _camera(name: str, faulted: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        cfg=SimpleNamespace(name=name), liveness={1: SimpleNamespace(faulted=faulted)}
    )


class FakeNode:
    """The parts the status line and the watchdog loop read, set by the test."""

    def __init__(self, cameras: int = 3) -> None:
        self.sirens: list[Any] = []
        self.sensors: list[Any] = []
        self.blocked: dict[str, str] = {}
        self.cameras = [_camera(f"cam{n}") for n in range(cameras)]
        self.links = [_link("police")]
        self.queued = 0
        self.sink = SimpleNamespace(fault=None, backlog=[])
        self.outbox = SimpleNamespace(
            recovered=None, reserve=SimpleNamespace(missing=False), total=lambda: self.queued
        )
        self.reading = Reading()
        self.reads = 0
        """How often the liveness check read the parts (once per turn of the loop)."""
        self.vclock = FakeClock(500.0)
        self.vitals = LivenessCheck(self._read, clock=self.vclock)
        self.calls: list[str] = []

    def _read(self) -> Reading:
        self.reads += 1
        return self.reading

    def turns(self, n: int) -> Callable[[], bool]:
        """A condition: the loop has looked at the node *n* more times from now."""
        target = self.reads + n
        return lambda: self.reads >= target

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


class FakeNotifier:
    """Records each sd_notify datagram as systemd would receive it."""

    def __init__(self, ping_interval: float) -> None:
        self.ping_interval = ping_interval
        self.sent: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()

    def notify(self, **fields: str | int) -> bool:
        with self._lock:
            self.sent.append((time.monotonic(), {k: str(v) for k, v in fields.items()}))
        return True

    def messages(self) -> list[dict[str, str]]:
        """The datagrams so far."""
        with self._lock:
            return [m for _, m in self.sent]

    def statuses(self) -> list[tuple[float, str]]:
        """(when, line) of each STATUS= sent."""
        with self._lock:
            return [(t, m["STATUS"]) for t, m in self.sent if "STATUS" in m]


# -- the line, pure ---------------------------------------------------------------------------


def test_a_healthy_node_says_so_with_its_cameras_and_outbox() -> None:
    """``running: healthy, 3 cameras, outbox 0``."""
    assert (
        status_line(Summary(Status.HEALTHY, cameras=3)) == "running: healthy, 3 cameras, outbox 0"
    )
    assert status_line(Summary(Status.HEALTHY, cameras=1, outbox=2)) == (
        "running: healthy, 1 camera, outbox 2"
    )
    assert status_line(Summary(Status.HEALTHY)) == "running: healthy, no cameras, outbox 0"


def test_what_is_wrong_is_named() -> None:
    """Cameras that do not work are counted and named, links down say for how long, other
    reasons appear as the heartbeat names them, events waiting in memory are counted."""
    s = Summary(
        Status.OFFLINE,
        reasons=("link_down:police", "disk_full", "camera_fault:dock", "delivery_error:cloud"),
        cameras=3,
        cameras_down=("dock",),
        links_down=(("police", 40.7),),
        outbox=120,
        unstored=7,
    )
    assert status_line(s) == (
        "running: cameras 2/3 up (down: dock), police link down 40 s, disk_full, "
        "delivery_error:cloud, outbox 120 (+7 in memory)"
    )


def test_a_wedged_node_says_the_watchdog_is_withheld_and_why() -> None:
    """Stalled stages with how long, dead threads, and the prefix ``watchdog withheld``."""
    s = Summary(
        Status.DEGRADED,
        reasons=("analysis_stalled:hall", "service_dead:mqtt-police"),
        fed=False,
        cameras=3,
        cameras_down=("hall",),
        stalls=(Stall("analysis", "hall", 45.2, 4), Stall("service", "housekeeping", 130, 1)),
        dead=("mqtt-police",),
        outbox=3,
    )
    assert status_line(s) == (
        "watchdog withheld: cameras 2/3 up (down: hall), hall analysis stalled 45 s, "
        "housekeeping stalled 2 min, mqtt-police thread dead, outbox 3"
    )


def test_alarm_is_said_first_and_long_lines_are_cut() -> None:
    """A sounding siren shows as ``alarm``; many cameras down: three named, the rest counted;
    the line never exceeds its limit."""
    names = tuple(f"camera-with-a-long-name-{n}" for n in range(16))
    s = Summary(Status.ALARM, cameras=16, cameras_down=names[:5])
    assert status_line(s).startswith(
        "running: alarm, cameras 11/16 up (down: camera-with-a-long-name-0, "
        "camera-with-a-long-name-1, "
        "camera-with-a-long-name-2 +2)"
    )
    many = Summary(
        Status.DEGRADED, reasons=tuple(f"sensor_flapping:{n}" for n in names), cameras=16
    )
    line = status_line(many)
    assert len(line) == MAX_CHARS and line.endswith("...")


def test_durations_are_coarse() -> None:
    """Seconds up to two minutes, then minutes, hours, days: the line changes seldom."""
    assert [duration(x) for x in (0, 59.9, 119, 120, 7199, 7200, 172799, 172800)] == [
        "0 s",
        "59 s",
        "119 s",
        "2 min",
        "119 min",
        "2 h",
        "47 h",
        "2 d",
    ]


def test_the_board_reads_the_node_state_and_times_links_down() -> None:
    """From the node's own state: a faulted camera and a link down since the first read that
    saw it; reconnected, the link is no longer named and a new outage counts afresh."""
    node = FakeNode()
    node.cameras[1] = _camera("dock", faulted=True)
    node.links[0].connected = False
    node.queued = 120
    clock = FakeClock(500.0)
    board = StatusBoard(clock)

    def line() -> str:
        vitals = node.vitals.check()
        return board.line(node, node_state(node, vitals), vitals)  # type: ignore[arg-type]

    assert line() == "running: cameras 2/3 up (down: dock), police link down 0 s, outbox 120"
    clock.advance(40)
    assert line() == "running: cameras 2/3 up (down: dock), police link down 40 s, outbox 120"
    node.links[0].connected = True
    node.cameras[1] = _camera("dock")
    node.queued = 0
    assert line() == "running: healthy, 3 cameras, outbox 0"
    node.links[0].connected = False
    clock.advance(5)
    assert line() == "running: 3 cameras, police link down 0 s, outbox 0"


def test_the_board_counts_blocked_and_stalled_cameras() -> None:
    """A blocked camera (privacy) is configured but down; a stalled one is down and makes the
    line say the watchdog is withheld."""
    node = FakeNode(cameras=2)
    node.blocked = {"office": "mask does not fit"}
    board = StatusBoard(FakeClock(500.0))
    vitals = Vitals(stalls=(Stall("analysis", "cam0", 31, 4),))
    state = node_state(node, vitals)  # type: ignore[arg-type]
    assert state == NodeState(Status.DEGRADED, ("camera_blocked:office", "analysis_stalled:cam0"))
    assert board.line(node, state, vitals) == (  # type: ignore[arg-type]
        "watchdog withheld: cameras 1/3 up (down: office, cam0), cam0 analysis stalled 31 s, "
        "outbox 0"
    )


# -- the loop ---------------------------------------------------------------------------------


def _run(node: FakeNode, notifier: FakeNotifier, **kw: Any) -> tuple[threading.Thread, Any]:
    stop = threading.Event()
    t = threading.Thread(target=run_until, args=(node, stop, notifier), kwargs=kw, daemon=True)
    t.start()
    return t, stop


def test_ready_carries_the_status_and_pings_follow_until_stopped() -> None:
    """READY=1 comes with the first status line; WATCHDOG=1 follows every ping interval;
    STOPPING=1 last, then the node is stopped."""
    node, notifier = FakeNode(), FakeNotifier(0.05)
    t, stop = _run(node, notifier)
    try:
        assert wait_until(lambda: sum("WATCHDOG" in m for m in notifier.messages()) >= 3)
    finally:
        stop.set()
        t.join(10)
    sent = notifier.messages()
    assert sent[0] == {"READY": "1", "STATUS": "running: healthy, 3 cameras, outbox 0"}
    assert sent[1:4] == [{"WATCHDOG": "1"}] * 3
    assert sent[-1] == {"STOPPING": "1"}
    assert node.calls == ["start", "stop"]
    assert node.vitals.stall_s == 30.0  # max(30 s, 3 pings)


@pytest.mark.faults
def test_pings_stop_while_a_stage_is_wedged_and_resume_after() -> None:
    """Frames waiting and no progress past the stall limit: WATCHDOG=1 is withheld and the
    status says why; once the stage moves again, pings and ``running`` are back."""
    node, notifier = FakeNode(), FakeNotifier(0.02)
    t, stop = _run(node, notifier, status_every_s=0.05)
    try:
        assert wait_until(lambda: len(notifier.messages()) >= 3)
        node.reading = Reading((Progress("analysis", "cam1", 5, 4),))
        assert wait_until(node.turns(2))  # the stage has been seen waiting
        node.vclock.advance(31)
        assert wait_until(lambda: any("withheld" in line for _, line in notifier.statuses())), (
            notifier.messages()
        )
        mark = len(notifier.messages())
        assert wait_until(node.turns(10))
        during = notifier.messages()[mark:]
        assert not any("WATCHDOG" in m for m in during), during
        withheld = next(line for _, line in notifier.statuses() if "withheld" in line)
        assert withheld == (
            "watchdog withheld: cameras 2/3 up (down: cam1), cam1 analysis stalled 31 s, outbox 0"
        )
        node.reading = Reading((Progress("analysis", "cam1", 6, 4),))
        assert wait_until(lambda: "WATCHDOG" in notifier.messages()[-1])
        assert wait_until(
            lambda: notifier.statuses()[-1][1] == "running: healthy, 3 cameras, outbox 0"
        )
    finally:
        stop.set()
        t.join(10)


def test_the_status_is_sent_on_change_at_most_every_few_seconds() -> None:
    """A link flapping fast: STATUS= goes out only when the line changed, never twice within
    ``status_every_s``, and the last state is reported in the end."""
    node, notifier = FakeNode(), FakeNotifier(0.01)
    every = 0.25
    t, stop = _run(node, notifier, status_every_s=every)
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            node.links[0].connected = not node.links[0].connected
            node.queued += 1
            time.sleep(0.01)
        node.links[0].connected = True
        node.queued = 0
        assert wait_until(
            lambda: notifier.statuses()[-1][1] == "running: healthy, 3 cameras, outbox 0"
        )
    finally:
        stop.set()
        t.join(10)
    statuses = notifier.statuses()
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(statuses)]
    assert len(statuses) >= 3 and min(gaps) >= every * 0.95, gaps
    lines = [line for _, line in statuses]
    assert all(a != b for a, b in itertools.pairwise(lines))
    pings = sum("WATCHDOG" in m for m in notifier.messages())
    assert pings > len(statuses)


def test_a_check_that_fails_withholds_the_ping() -> None:
    """A liveness check that raises (a bug) is logged and counts as not alive."""
    node, notifier = FakeNode(), FakeNotifier(0.02)
    tries: list[int] = []

    def broken() -> Reading:
        tries.append(1)
        raise RuntimeError("bug")

    node.vitals = LivenessCheck(broken)
    t, stop = _run(node, notifier, status_every_s=0.05)
    try:
        assert wait_until(lambda: len(tries) >= 10)
    finally:
        stop.set()
        t.join(10)
    sent = notifier.messages()
    assert sent[0]["STATUS"] == "watchdog withheld: 3 cameras, watchdog thread dead, outbox 0"
    assert not any("WATCHDOG" in m for m in sent)


def test_vitals_reasons_and_service_health() -> None:
    """Vitals name stalls first, then dead services; alive only with neither."""
    v = Vitals((Stall("analysis", "hall", 30, 1),), (ServiceHealth("housekeeping", False),))
    assert v.reasons == ("analysis_stalled:hall", "service_dead:housekeeping")
    assert not v.alive and Vitals().alive
