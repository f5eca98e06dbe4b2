"""Once a second: tasks that keep the node tidy (clip post-roll ticks, retention, outbox
expiry, the status lamp) and, every ``interval_s``, the heartbeat. Each round is counted
(:attr:`Worker.rounds`): a housekeeper stuck in a task is a wedged node
(:mod:`edge.node.liveness`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger

log = get_logger(__name__)


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

    def start(self) -> None:
        """Start the housekeeping thread."""
        self.spawn(self._run, "housekeeping")

    def _run(self) -> None:
        next_beat = time.monotonic()
        while not self.stopping.wait(self.period_s):
            try:
                for task in self.tasks:
                    task()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.interval_s
                    self.heartbeat()
            except Exception:  # never let housekeeping die
                log.exception("housekeeping.failed")
            self.went_round()
