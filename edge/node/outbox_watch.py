"""The outbox's integrity as the node sees it: checked every housekeeping round (a deleted or
swapped file at once, ``quick_check`` every ``CHECK_INTERVAL_S``), and every damaged or lost
outbox file told to the destinations as an ``outbox_recovered`` event (alarm class: it says
evidence may be missing), with how many queued messages were recovered and how many lost."""

from __future__ import annotations

from collections.abc import Callable

from edge.core.ids import new_id
from edge.core.kinds import Kind, Severity, State
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.outbox.store import Outbox

log = get_logger(__name__)


class OutboxWatch:
    """Checks *outbox* and accepts an event for each recovery it made."""

    def __init__(
        self, outbox: Outbox, factory: EventFactory, accept: Callable[[Event], None]
    ) -> None:
        self.outbox = outbox
        self.factory = factory
        self.accept = accept

    def check(self) -> None:
        """A housekeeping chore: check the file, then report what was recovered."""
        try:
            self.outbox.check()
        finally:
            self.report()

    def report(self) -> int:
        """Accept one ``outbox_recovered`` event per recovery not yet reported (the ones
        found at start included); returns how many."""
        reports = self.outbox.take_reports()
        for r in reports:
            event = self.factory.make(
                Kind.OUTBOX_RECOVERED, Severity.ALARM, State.INSTANT, new_id(), data=r.data()
            )
            self.accept(event)
        return len(reports)
