"""The event model, rules, clip triggers and the sink: observations and sensor edges become
events."""
