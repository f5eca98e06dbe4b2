"""The event path: every event, from a camera or a sensor, goes rules -> clip triggers ->
sink, in that order, here and nowhere else."""

from __future__ import annotations

from edge.events.model import Event
from edge.events.rules import Rules
from edge.events.sink import EventSink
from edge.events.triggers import ClipTriggers


class EventPath:
    """Arming and incidents, then clips, then durable acceptance."""

    def __init__(self, rules: Rules, triggers: ClipTriggers, sink: EventSink) -> None:
        self.rules = rules
        self.triggers = triggers
        self.sink = sink

    def accept(self, event: Event) -> None:
        """Apply the rules, hold or release clips, persist and notify."""
        self.sink.accept(self.triggers.apply(self.rules.apply(event)))
