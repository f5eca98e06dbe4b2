"""Durable outbox: nothing leaves the node except through here."""

from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.store import Outbox, OutboxError

__all__ = ["Outbox", "OutboxError", "OutboxMessage", "Pending", "Priority"]
