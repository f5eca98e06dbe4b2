"""The node's services start in one explicit order and stop in the reverse order: links
first (so nothing accepted waits), cameras last; on the way down cameras stop first (no new
events), then sensors, recorders hand their last clips to the finalizer, the finalizer writes
them, and the links say ``offline`` last."""

from __future__ import annotations

import time
from collections.abc import Iterable

from edge.core.lifecycle import Service, ServiceHealth
from edge.core.logs import get_logger

log = get_logger(__name__)


class Lifecycle:
    """Starts and stops services in order; records what it did (for tests and logs)."""

    def __init__(self, services: Iterable[Service] = ()) -> None:
        self.services: list[Service] = list(services)
        self.journal: list[str] = []
        """``start NAME`` / ``stop NAME`` in the order they happened."""

    def add(self, service: Service) -> None:
        """Append *service*: it starts after, and stops before, those added earlier."""
        self.services.append(service)

    def start(self) -> None:
        """Start every service in order."""
        for s in self.services:
            s.start()
            self.journal.append(f"start {s.name}")

    def stop(self, timeout_each: float = 10.0) -> list[str]:
        """Stop every service in reverse order, waiting for each; returns those that did not
        end in time (logged, not fatal: the process is ending)."""
        stuck = []
        for s in reversed(self.services):
            t0 = time.monotonic()
            s.stop()
            if not s.join(timeout_each):
                stuck.append(s.name)
                log.error("service.stuck", service=s.name, waited_s=timeout_each)
            self.journal.append(f"stop {s.name}")
            log.debug("service.stopped", service=s.name, s=round(time.monotonic() - t0, 3))
        return stuck

    def health(self) -> list[ServiceHealth]:
        """Each service's health, in start order."""
        return [s.health() for s in self.services]
