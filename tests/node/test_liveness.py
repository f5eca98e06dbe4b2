"""The liveness model the systemd watchdog is fed on: a wedged analysis stage or housekeeper
and a service thread that died stop the pings; a camera fault is no reason to. Judged on a
made-up clock, so nothing here sleeps through a stall limit. Camera threads:
test_liveness_cameras.py."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from nodecfg import file_camera, node_config
from timing import FakeClock, wait_until

from edge.capture.frame import Frame
from edge.config.loader import loads
from edge.core.lifecycle import ServiceHealth, Worker
from edge.node.housekeeping import Housekeeper
from edge.node.liveness import (
    STALL_MIN_S,
    LivenessCheck,
    Progress,
    Reading,
    Vitals,
    stall_limit,
)
from edge.node.node import Node
from edge.node.status import node_state
from edge.sensors.outputs import Status


class KilledThread(BaseException):
    """Ends a thread the way a bug beyond ``except Exception`` would."""


# -- the judgement, pure ----------------------------------------------------------------------


def test_stall_limit_is_at_least_30_s_and_three_pings() -> None:
    """The limit is max(30 s, 3 ping intervals): never one slow moment."""
    assert stall_limit(None) == STALL_MIN_S == 30.0
    assert stall_limit(5.0) == 30.0
    assert stall_limit(15.0) == 45.0


def test_analysis_with_frames_waiting_and_no_progress_stalls_at_the_limit() -> None:
    """Frames waiting and the count not moving: fine at 29.9 s, stalled at 30 s; progress
    clears it at once and the limit starts again."""
    clock = FakeClock()
    check = LivenessCheck(Reading, stall_s=30.0, clock=clock)
    stuck = Reading((Progress("analysis", "hall", 7, 4),))
    assert check.judge(stuck).alive
    clock.advance(29.9)
    assert check.judge(stuck).alive
    clock.advance(0.1)
    v = check.judge(stuck)
    assert not v.alive and v.reasons == ("analysis_stalled:hall",)
    assert v.stalls[0].seconds == 30.0 and v.stalls[0].waiting == 4
    moved = Reading((Progress("analysis", "hall", 8, 4),))
    assert check.judge(moved).alive
    clock.advance(29.0)
    assert check.judge(moved).alive


def test_an_idle_analysis_stage_never_stalls() -> None:
    """Nothing waiting (a camera that sends nothing, a quiet night): no stall however long
    the count stands still; the limit counts from when frames start waiting."""
    clock = FakeClock()
    check = LivenessCheck(Reading, clock=clock)
    idle = Reading((Progress("analysis", "hall", 7, 0),))
    for _ in range(10):
        clock.advance(600)
        assert check.judge(idle).alive
    waiting = Reading((Progress("analysis", "hall", 7, 1),))
    assert check.judge(waiting).alive
    clock.advance(STALL_MIN_S)
    assert check.judge(waiting).reasons == ("analysis_stalled:hall",)


def test_each_stage_is_judged_on_its_own() -> None:
    """One wedged camera is named; the others, moving, are not."""
    clock = FakeClock()
    check = LivenessCheck(Reading, clock=clock)
    for n in range(4):
        clock.advance(15)
        v = check.judge(
            Reading(
                (
                    Progress("analysis", "hall", 3, 4),
                    Progress("analysis", "dock", n, 4),
                    Progress("service", "housekeeping", 9, 1),
                )
            )
        )
    assert v.reasons == ("analysis_stalled:hall", "service_stalled:housekeeping")


def test_dead_services_make_the_node_not_alive() -> None:
    """A dead service thread withholds the watchdog; its reason names it."""
    check = LivenessCheck(lambda: Reading(dead=(ServiceHealth("mqtt-police", False, "x"),)))
    v = check.check()
    assert not v.alive and v.reasons == ("service_dead:mqtt-police",)


def test_state_shows_degraded_with_the_liveness_reasons() -> None:
    """The lamp and heartbeat: a stalled stage or dead service is degraded with its reason;
    a camera fault alone is degraded too, but it is no liveness reason (the watchdog goes on)."""
    faulted = SimpleNamespace(
        cfg=SimpleNamespace(name="yard"), liveness={1: SimpleNamespace(faulted=True)}
    )
    parts = SimpleNamespace(
        outbox=SimpleNamespace(recovered=None, reserve=SimpleNamespace(missing=False)),
        sink=SimpleNamespace(fault=None),
        blocked={},
        cameras=[faulted],
        sensors=[],
        sirens=[],
        links=[],
    )
    clock = FakeClock()
    check = LivenessCheck(Reading, clock=clock)
    assert check.judge(Reading()).alive  # the faulted camera is not in the vitals
    assert node_state(parts).reasons == ("camera_fault:yard",)
    stuck = Reading(
        (Progress("analysis", "hall", 1, 2),), (ServiceHealth("housekeeping", False, "x"),)
    )
    check.judge(stuck)
    clock.advance(31)
    state = node_state(parts, check.judge(stuck))
    assert state.status is Status.DEGRADED
    assert state.reasons == (
        "camera_fault:yard",
        "analysis_stalled:hall",
        "service_dead:housekeeping",
    )
    assert node_state(parts, Vitals()).reasons == ("camera_fault:yard",)


# -- the housekeeper and the node, real threads -----------------------------------------------


@pytest.mark.faults
def test_a_housekeeper_stuck_in_a_chore_stalls_and_one_whose_thread_died_is_dead() -> None:
    """The housekeeper's rounds stop while a chore blocks: stalled at the limit. One whose
    thread ended (a bug beyond its exception handler) is dead."""
    release = threading.Event()
    entered = threading.Event()

    def chore() -> None:
        entered.set()
        release.wait(30)

    keeper = Housekeeper([chore], lambda: None, interval_s=60, period_s=0.01)
    clock = FakeClock()
    check = LivenessCheck.of([], [keeper], clock=clock)
    keeper.start()
    try:
        assert entered.wait(10)
        assert check.check().alive
        clock.advance(30)
        assert check.check().reasons == ("service_stalled:housekeeping",)
        release.set()
        rounds = keeper.rounds or 0
        assert wait_until(lambda: (keeper.rounds or 0) > rounds)
        assert check.check().alive
    finally:
        release.set()
        assert keeper.shutdown(10)


@pytest.mark.faults
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_thread_is_named() -> None:
    """Any worker (a link, the finalizer, the housekeeper) whose thread ended unasked is
    ``service_dead:NAME``; once stopped on purpose it is not."""

    def die() -> None:
        raise KilledThread

    keeper = Housekeeper([die], lambda: None, interval_s=60, period_s=0.01)
    idle = Worker("idle")  # started no thread: nothing to judge
    check = LivenessCheck.of([], [keeper, idle])
    keeper.start()
    assert keeper.join(10)
    assert check.check().reasons == ("service_dead:housekeeping",)
    keeper.stop()
    assert check.check() == Vitals()


@pytest.mark.faults
def test_the_node_is_alive_until_its_analysis_wedges(tmp_path: Path, videos: Path) -> None:
    """The real node: alive with a looping camera running; its analysis stuck in a call
    makes ``alive()`` false and the state degraded with ``analysis_stalled:hall``."""
    release = threading.Event()
    wedge = threading.Event()
    video = videos / "car-detection.mp4"
    camera = file_camera("hall", video, realtime=True, fps=5)
    camera = camera.replace("realtime = true }", "realtime = true, loop = true }")
    cfg = loads(
        node_config(
            tmp_path,
            "n1",
            mock_gpio=True,
            cameras=[camera],
            destinations=[
                '[[destinations]]\nname = "police"\nhost = "127.0.0.1"\nport = 1\n'
                "allow_insecure = true"
            ],
        )
    )
    node = Node(cfg)
    worker = node.cameras[0]

    def on_frame(_f: Frame) -> None:
        if wedge.is_set():
            release.wait(30)

    worker.on_frame = on_frame
    clock = FakeClock()
    node.vitals.clock = clock
    node.start()
    try:
        assert wait_until(lambda: worker.frames_analysed > 2, 20)
        assert node.alive()
        wedge.set()
        assert wait_until(lambda: len(worker.queue) > 0 and worker.frames_analysed > 0)
        assert wait_until(lambda: len(worker.queue) == worker.queue.maxsize)
        assert node.alive()
        clock.advance(31)
        assert not node.alive()
        state = node.state()
        assert "analysis_stalled:hall" in state.reasons
        assert state.status in (Status.DEGRADED, Status.OFFLINE)  # the link is down too
        release.set()
        wedge.clear()
        assert wait_until(node.alive)
    finally:
        release.set()
        node.stop()
