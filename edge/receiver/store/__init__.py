"""The receiver's store: one schema on SQLite (default) or PostgreSQL, behind one class."""
