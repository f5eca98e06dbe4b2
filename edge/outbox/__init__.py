"""What the node has accepted and must deliver: the durable outbox (SQLite), the messages
that go into it, the sharing policy, and the books kept when a destination acknowledges."""
