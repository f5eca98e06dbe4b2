"""What every event of this node carries: who made it and whether its clock can be trusted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.core.clock import clock_synced
from edge.events.model import Event, Kind, Severity, State


@dataclass(frozen=True)
class EventFactory:
    """Makes events stamped with this node's id, site and clock state."""

    node: str
    site: str
    now: Callable[[], float] = time.time
    synced: Callable[[], bool] = field(default=clock_synced)

    def make(
        self,
        kind: Kind,
        severity: Severity,
        state: State,
        occurrence: str,
        *,
        ts: float | None = None,
        **fields: Any,
    ) -> Event:
        """A new event; *fields* are further :class:`Event` attributes."""
        return Event(
            kind=kind,
            severity=severity,
            state=state,
            node=self.node,
            site=self.site,
            ts=self.now() if ts is None else ts,
            occurrence=occurrence,
            clock_synced=self.synced(),
            **fields,
        )
