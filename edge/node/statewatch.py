"""The state file follows the node: ``edge status`` sees a change within a fraction of a
second, not at the next heartbeat.

A thread looks at the node every :data:`POLL_S` (a cheap look: the status and its reasons,
each camera's fault, each sensor's contact and state, each link's connection and errors,
the storage fault) and, when what it sees is not what the file holds, writes the whole
heartbeat dict to the state file (:mod:`edge.node.statefile`), at most every
:data:`MIN_GAP_S`: a burst of changes is one write, of its last state. Figures that move
all the time (frames, queue depths, free disk) are not changes: they are as of the last
write, which the heartbeat makes at least every ``health.interval_s``.

Each look is compared with what the file *holds*, not with what was last looked at: the
sensors are read again for the file (by this watch or by the heartbeat, whichever wrote
last: :func:`edge.node.statefile.current`), so a door that moved between a look and a write
(a flapping input moves many times a second) would otherwise leave the file with a level
the door no longer has until something else changed (for a flapping input: its
``flap_window_s`` of quiet, 10 s). Each sensor's current level is therefore in the file
within about :data:`POLL_S` + :data:`MIN_GAP_S`, flapping or not (see
:meth:`edge.sensors.contacts.ContactInput.status`: a flapping input says ``state:
flapping`` with its level now).

A look or a write that fails is logged (the first in full, then once a minute) and the
thread goes on: the state file is a convenience, never a reason to stop the node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from edge.core.lifecycle import Worker
from edge.core.logs import get_logger
from edge.node import heartbeat, statefile

log = get_logger(__name__)

POLL_S = 0.1
"""How often the node is looked at."""
MIN_GAP_S = 0.25
"""Writes are at least this far apart (the debounce)."""
FAILURE_LOG_S = 60.0
"""A look that keeps failing is logged at most this often after the first time."""


def _sensor(s: dict[str, Any]) -> tuple[object, ...]:
    return (
        s.get("name"),
        s.get("contact"),
        s.get("state"),
        s.get("active"),
        s.get("flapping"),
        s.get("faults"),
    )


def _sensors(statuses: list[dict[str, Any]]) -> tuple[object, ...]:
    return tuple(_sensor(s) for s in statuses)


def look(node: heartbeat.HealthSource) -> tuple[object, ...]:
    """What ``edge status`` shows of *node* that counts as a change (see the module); the
    sensors' part last (:func:`as_written` replaces it)."""
    state = node.state()
    return (
        str(state.status),
        tuple(state.reasons),
        tuple((w.cfg.name, any(lv.faulted for lv in w.liveness.values())) for w in node.cameras),
        tuple(sorted(node.blocked)),
        tuple(
            (x.dest.name, x.connected, x.stats.last_error, x.stats.delivery_error)
            for x in list(node.links)
        ),
        node.sink.fault,
        _sensors([s.status() for s in node.sensors]),
    )


def as_written(seen: tuple[object, ...], health: object) -> tuple[object, ...]:
    """*seen* (a :func:`look`) with its sensors' part as the written *health* has it (the
    sensors are read again for the file: what a later look must be compared with)."""
    if not isinstance(health, dict) or not isinstance(health.get("sensors"), list):
        return seen
    statuses = [s for s in health["sensors"] if isinstance(s, dict)]
    return (*seen[:-1], _sensors(statuses))


class StateWatch(Worker):
    """Writes the state file of *node* whenever :func:`look` sees a change (debounced)."""

    def __init__(
        self,
        node: heartbeat.HealthSource,
        *,
        write: Callable[[], object] | None = None,
        current: Callable[[], object] | None = None,
        poll_s: float = POLL_S,
        min_gap_s: float = MIN_GAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("state-watch")
        self.node = node
        self.poll_s = poll_s
        self.min_gap_s = min_gap_s
        self.clock = clock
        self._write = write or (lambda: statefile.written(node.cfg, heartbeat.report(node)))
        """Writes the state file; returns the health written (its sensors are compared with
        the next look), or anything else (then the look is)."""
        self._current = current or (
            (lambda: statefile.current(node.cfg)) if write is None else (lambda: None)
        )
        """The health the file holds now (written by anyone), or None when not known."""
        self.writes = 0
        """State files written on a change (the heartbeat's own are not counted)."""

    def start(self) -> None:
        """Start the watching thread."""
        self.spawn(self._run, "state-watch")

    def _run(self) -> None:
        last: tuple[object, ...] | None = None
        written_at = float("-inf")
        failed_at: float | None = None
        while not self.stopping.wait(self.poll_s):
            try:
                seen = look(self.node)
                if last is not None:
                    last = as_written(last, self._current())
                if seen != last and self.clock() - written_at >= self.min_gap_s:
                    last, written_at = as_written(seen, self._write()), self.clock()
                    self.writes += 1
                if failed_at is not None:
                    log.info("node.state_watch_recovered")
                    failed_at = None
            except Exception:
                now = self.clock()
                if failed_at is None:
                    log.exception("node.state_watch_failed")
                    failed_at = now
                elif now - failed_at >= FAILURE_LOG_S:
                    log.error(
                        "node.state_watch_still_failing", since_last_line_s=round(now - failed_at)
                    )
                    failed_at = now
