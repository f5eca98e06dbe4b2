"""Events: one model for everything the node reports, and where they are accepted."""

from edge.events.context import EventFactory
from edge.events.model import SCHEMA, Event, Kind, Severity, State
from edge.events.sink import EventSink

__all__ = ["SCHEMA", "Event", "EventFactory", "EventSink", "Kind", "Severity", "State"]
