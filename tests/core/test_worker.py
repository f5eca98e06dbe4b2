"""The one way to own a thread: a Worker's thread that raises is logged with its traceback,
reported to its owner, and restarted or ended as the owner's policy says."""

from __future__ import annotations

import threading

import pytest
import structlog
from timing import wait_until

from edge.core.lifecycle import Death, OnDeath, Verdict, Worker, end_process, restart

ENDS = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
"""For tests whose thread ends with its exception (threading.excepthook sees it, as it should)."""


class Flaky(Worker):
    """A worker whose one thread raises on its first *fails* runs, then waits for stop."""

    def __init__(self, fails: int, on_death: OnDeath | None = None) -> None:
        super().__init__("flaky", on_death=on_death, restart_pause_s=0.01)
        self.fails = fails
        self.runs = 0
        self.running = threading.Event()

    def start(self) -> None:
        """One thread."""
        self.spawn(self._run, "flaky-loop")

    def _run(self) -> None:
        self.runs += 1
        if self.runs <= self.fails:
            raise RuntimeError(f"boom {self.runs}")
        self.running.set()
        self.stopping.wait()


@ENDS
def test_a_thread_that_raises_is_logged_and_ends_by_default() -> None:
    """Default policy: the thread ends, ``thread.died`` is logged with the traceback, and
    health says the worker is dead with the error (the watchdog reads health)."""
    w = Flaky(fails=1)
    with structlog.testing.capture_logs() as logs:
        w.start()
        assert w.join(5)
    died = [e for e in logs if e["event"] == "thread.died"]
    assert len(died) == 1 and died[0]["thread"] == "flaky-loop"
    assert "RuntimeError: boom 1" in died[0]["traceback"]
    health = w.health()
    assert not health.alive and "flaky-loop" in health.detail and "boom 1" in health.detail
    assert w.last_error == "RuntimeError: boom 1" and w.deaths == 1


def test_restart_policy_runs_the_target_again_and_stop_still_ends_it() -> None:
    """Policy restart: after two deaths the thread runs; health alive, naming the restarts;
    stop and join end it as usual."""
    w = Flaky(fails=2, on_death=restart())
    w.start()
    assert w.running.wait(5)
    assert w.runs == 3 and w.deaths == 2
    health = w.health()
    assert health.alive and "restarted 2x" in health.detail
    assert w.shutdown(5)


@ENDS
def test_restart_policy_gives_up_after_its_limit() -> None:
    """restart(max_deaths=1): the second death ends the thread."""
    w = Flaky(fails=5, on_death=restart(max_deaths=1))
    w.start()
    assert w.join(5)
    assert w.runs == 2 and not w.health().alive


@ENDS
def test_the_owner_decides_and_can_end_the_process() -> None:
    """The owner's policy sees the death (worker, thread, error) and can stop the process
    (here: set the process's stop event)."""
    process_stop = threading.Event()
    seen: list[Death] = []
    policy = end_process(process_stop.set)

    def owner(death: Death) -> Verdict:
        seen.append(death)
        return policy(death)

    w = Flaky(fails=1, on_death=owner)
    w.start()
    assert process_stop.wait(5) and w.join(5)
    assert [(d.worker, d.thread, str(d.error), d.deaths) for d in seen] == [
        ("flaky", "flaky-loop", "boom 1", 1)
    ]


@ENDS
def test_a_broken_policy_ends_the_thread_reported() -> None:
    """A policy that raises itself: the thread ends (health says so), nothing hangs."""

    def broken(_death: Death) -> Verdict:
        raise ValueError("policy bug")

    w = Flaky(fails=1, on_death=broken)
    w.start()
    assert wait_until(lambda: not w.health().alive, 5)


@ENDS
def test_a_thread_ended_by_systemexit_is_not_silent() -> None:
    """SystemExit ends a thread without a word in Python; a Worker's is logged and reported."""

    class Quits(Worker):
        def start(self) -> None:
            self.spawn(self._run, "quits")

        def _run(self) -> None:
            raise SystemExit("injected")

    w = Quits("quits")
    with structlog.testing.capture_logs() as logs:
        w.start()
        assert w.join(5)
    assert [e["thread"] for e in logs if e["event"] == "thread.died"] == ["quits"]
    assert not w.health().alive and "SystemExit: injected" in w.health().detail
