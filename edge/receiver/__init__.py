"""The police side: receive, verify, store and supervise what the nodes deliver."""
