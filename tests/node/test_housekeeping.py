"""Housekeeping under a chore that keeps failing (the red team saw ``housekeeping.failed``
every second while a damaged outbox failed its chore): the other chores and the heartbeat
still run every round, and the failing one is logged in full three times, then once a
minute with a count, and once when it works again."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from timing import FakeClock, wait_until

from edge.node.housekeeping import LOGGED_FIRST, Housekeeper, TaskFailures

pytestmark = pytest.mark.faults


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """The structured log events emitted during the test (every thread)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def _named(events: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in events if e["event"] == name]


def test_a_failing_chore_does_not_stop_the_others_or_the_heartbeat(
    log_events: list[MutableMapping[str, Any]],
) -> None:
    """A chore that raises every round, between two that count: both keep counting and the
    heartbeat keeps beating; the failure is logged with its name, at most three times here."""
    ran = {"before": 0, "after": 0, "beats": 0}

    def before() -> None:
        ran["before"] += 1

    def broken() -> None:
        raise RuntimeError("database disk image is malformed")

    def after() -> None:
        ran["after"] += 1

    def beat() -> None:
        ran["beats"] += 1

    keeper = Housekeeper([before, broken, after], beat, interval_s=0.05, period_s=0.01)
    keeper.start()
    try:
        assert wait_until(lambda: ran["after"] >= 30 and ran["beats"] >= 3, 20)
    finally:
        keeper.shutdown(10)
    assert ran["before"] >= ran["after"] >= 30
    failed = _named(log_events, "housekeeping.failed")
    assert len(failed) == LOGGED_FIRST
    assert all("broken" in e["task"] and e["exc_info"] for e in failed)


def test_failures_are_summed_up_once_a_minute_and_the_recovery_said() -> None:
    """After the first three, one line per minute with the failures it stands for; the
    first success after failures is one line."""
    clock = FakeClock()
    book = TaskFailures("Outbox.check", clock=clock)
    with structlog.testing.capture_logs() as events:
        for _ in range(150):  # two and a half minutes, a failure a second
            try:
                raise OSError("no space")
            except OSError:
                book.failed()
            clock.advance(1)
        book.worked()
        book.worked()
    assert len(_named(events, "housekeeping.failed")) == LOGGED_FIRST
    summaries = _named(events, "housekeeping.still_failing")
    assert len(summaries) == 2 and summaries[0]["task"] == "Outbox.check"
    assert [e["failures"] for e in summaries] == [63, 123]
    assert _named(events, "housekeeping.recovered")[0]["failures"] == 150
    assert len(_named(events, "housekeeping.recovered")) == 1
