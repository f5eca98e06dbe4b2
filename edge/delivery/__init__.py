"""Outbox, sharing policy, topics, the MQTT link and the bookkeeping of what was delivered."""
