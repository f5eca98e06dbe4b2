"""The node's services start in one explicit order and stop in the reverse order: links
first (so nothing accepted waits), cameras last; on the way down cameras stop first (no new
events), then sensors, recorders hand their last clips to the finalizer, the finalizer writes
them, and the links say ``offline`` last.

The stop keeps to a deadline (the node's stop budget, under systemd's ``TimeoutStopSec``): a
service that does not end in its turn is named (``service.stuck``) and left behind, its
threads being daemons, so one wedged stage never holds the stop past the budget."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable

from edge.core.lifecycle import Service, ServiceHealth
from edge.core.logs import get_logger

log = get_logger(__name__)

CAMERA_STOP_S = 3.0
"""How long the cameras, asked to stop all at once, are waited for together."""
RESERVE_S = 0.5
"""Kept from the deadline for each service still to stop after the one waited for."""


class Lifecycle:
    """Starts and stops services in order; records what it did (for tests and logs)."""

    def __init__(self, services: Iterable[Service] = ()) -> None:
        self.services: list[Service] = list(services)
        self.journal: list[str] = []
        """``start NAME`` / ``stop NAME`` in the order they happened."""

    def add(self, service: Service, *, first: bool = False) -> None:
        """Append *service*: it starts after, and stops before, those added earlier; with
        *first* it goes in front instead (a link started late: it stops last, with the
        others)."""
        if first:
            self.services.insert(0, service)
        else:
            self.services.append(service)

    def start(self) -> None:
        """Start every service in order."""
        for s in self.services:
            s.start()
            self.journal.append(f"start {s.name}")

    def stop(
        self,
        timeout_each: float = 10.0,
        *,
        deadline: float | None = None,
        abandoned: Collection[str] = (),
    ) -> list[str]:
        """Stop every service in reverse order, waiting for each up to *timeout_each* and,
        with a *deadline* (``time.monotonic()``), never past it less :data:`RESERVE_S` for
        each service still to come; services named in *abandoned* (already waited for) are
        asked again but not waited for. Returns those that did not end in time (logged, not
        fatal: the process is ending)."""
        stuck = []
        order = list(reversed(self.services))
        for n, s in enumerate(order):
            t0 = time.monotonic()
            wait = 0.0 if s.name in abandoned else timeout_each
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - t0 - RESERVE_S * (len(order) - n - 1)))
            s.stop()
            if not s.join(wait):
                stuck.append(s.name)
                log.error("service.stuck", service=s.name, waited_s=round(wait, 3))
            self.journal.append(f"stop {s.name}")
            log.debug("service.stopped", service=s.name, s=round(time.monotonic() - t0, 3))
        return stuck

    def health(self) -> list[ServiceHealth]:
        """Each service's health, in start order."""
        return [s.health() for s in self.services]
