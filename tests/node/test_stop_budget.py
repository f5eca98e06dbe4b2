"""The stop keeps to its budget: a service stuck in a call is waited for no longer than the
deadline allows (less a little for each service still to stop), one already given up on is
asked again but not waited for, and the order stays the reverse of the start."""

from __future__ import annotations

import threading
import time

from edge.core.lifecycle import ServiceHealth
from edge.node.lifecycle import RESERVE_S, Lifecycle


class _Service:
    """A service whose join waits as a real one does; a stuck one never ends."""

    def __init__(self, name: str, log: list[str], *, stuck: bool = False) -> None:
        self.name = name
        self.log = log
        self.stuck = stuck
        self.waited: float | None = None
        self._ended = threading.Event()

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")
        if not self.stuck:
            self._ended.set()

    def join(self, timeout: float | None = None) -> bool:
        self.waited = timeout
        return self._ended.wait(timeout)

    def health(self) -> ServiceHealth:
        return ServiceHealth(self.name, True)


def test_a_stuck_service_costs_no_more_than_the_deadline_leaves() -> None:
    """Four services, the first to stop stuck for good, a deadline 1.5 s away and 30 s per
    service: the stuck one is waited for 1.5 s less the reserve of the three after it, they
    stop at once, the whole stop keeps to the deadline and names the stuck one."""
    log: list[str] = []
    services = [_Service(n, log) for n in "abc"] + [_Service("cam", log, stuck=True)]
    life = Lifecycle(services)
    life.start()
    t0 = time.monotonic()
    stuck = life.stop(timeout_each=30.0, deadline=t0 + 1.5)
    took = time.monotonic() - t0
    assert stuck == ["cam"]
    assert took < 1.5
    assert services[3].waited is not None and services[3].waited <= 1.5 - 3 * RESERVE_S
    assert log[4:] == ["stop cam", "stop c", "stop b", "stop a"]


def test_a_service_given_up_on_is_asked_again_but_not_waited_for() -> None:
    """A camera already waited for (the node waits for all cameras together first) is told
    to stop again and named, with no second wait."""
    log: list[str] = []
    cam = _Service("cam", log, stuck=True)
    life = Lifecycle([_Service("link", log), cam])
    t0 = time.monotonic()
    assert life.stop(timeout_each=30.0, deadline=t0 + 10, abandoned=["cam"]) == ["cam"]
    assert cam.waited == 0.0 and time.monotonic() - t0 < 1.0
