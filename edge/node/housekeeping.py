"""Once a second: tasks that keep the node tidy (clip post-roll ticks, retention, outbox
expiry and integrity, the status lamp) and, every ``interval_s``, the heartbeat. Each round
is counted (:attr:`Worker.rounds`): a housekeeper stuck in a task is a wedged node
(:mod:`edge.node.liveness`).

A task that fails does not keep the others from running, and a task that fails every
round is not a log line every second: its first failures are logged with the traceback,
then one line a minute with how many failures it stood for, and its recovery once."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger

log = get_logger(__name__)

LOGGED_FIRST = 3
"""Failures of one task logged in full before the rest are summed up."""
SUMMARY_S = 60.0
"""How often a task that keeps failing is logged after that."""


def task_name(task: Callable[..., object]) -> str:
    """A readable name for *task* (a bound method's owner and name, or the function's)."""
    owner = getattr(task, "__self__", None)
    name = getattr(task, "__qualname__", None) or getattr(task, "__name__", None) or repr(task)
    if owner is not None and "." not in name:
        return f"{type(owner).__name__}.{name}"
    return str(name)


class TaskFailures:
    """The failure log of one task: the first :data:`LOGGED_FIRST` in full, then a summary
    at most every :data:`SUMMARY_S` seconds, and one line when it works again."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.failures = 0
        """Consecutive failures (0 while the task works)."""
        self._clock = clock
        self._unlogged = 0
        self._next_summary = 0.0

    def failed(self) -> None:
        """The task raised (call from its ``except`` block: the traceback is logged)."""
        self.failures += 1
        now = self._clock()
        if self.failures <= LOGGED_FIRST:
            log.exception("housekeeping.failed", task=self.name, failures=self.failures)
            self._next_summary = now + SUMMARY_S
            return
        self._unlogged += 1
        if now >= self._next_summary:
            log.error("housekeeping.still_failing", task=self.name, failures=self.failures,
                      since_last_line=self._unlogged)  # fmt: skip
            self._unlogged = 0
            self._next_summary = now + SUMMARY_S

    def worked(self) -> None:
        """The task ran without raising."""
        if self.failures:
            log.info("housekeeping.recovered", task=self.name, failures=self.failures)
        self.failures = 0
        self._unlogged = 0


class Housekeeper(Worker):
    """Runs *tasks* every *period_s* and *heartbeat* every *interval_s* (first at start)."""

    def __init__(
        self,
        tasks: Sequence[Callable[[], object]],
        heartbeat: Callable[[], None],
        interval_s: float,
        period_s: float = 1.0,
    ) -> None:
        super().__init__("housekeeping")
        self.tasks = list(tasks)
        self.heartbeat = heartbeat
        self.interval_s = interval_s
        self.period_s = period_s
        self.rounds = 0
        self._failures: dict[int, TaskFailures] = {}

    def start(self) -> None:
        """Start the housekeeping thread."""
        self.spawn(self._run, "housekeeping")

    def _run_one(self, task: Callable[[], object]) -> None:
        book = self._failures.get(id(task))
        if book is None:
            book = self._failures[id(task)] = TaskFailures(task_name(task))
        try:
            task()
        except Exception:  # never let housekeeping die, nor one task stop the others
            book.failed()
        else:
            book.worked()

    def _run(self) -> None:
        next_beat = time.monotonic()
        while not self.stopping.wait(self.period_s):
            for task in self.tasks:
                self._run_one(task)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.interval_s
                self._run_one(self.heartbeat)
            self.went_round()
