"""Durable outbox: nothing leaves the node except through here."""

from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.store import DEFAULT_LIMITS, ClassLimits, Outbox, OutboxError

__all__ = [
    "DEFAULT_LIMITS",
    "ClassLimits",
    "Outbox",
    "OutboxError",
    "OutboxMessage",
    "Pending",
    "Priority",
]
