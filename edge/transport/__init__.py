"""Delivery of the outbox to MQTT brokers."""

from edge.transport.mqtt import LinkStats, MqttLink
from edge.transport.policy import SharingPolicy
from edge.transport.tls import TlsSetupError

__all__ = ["LinkStats", "MqttLink", "SharingPolicy", "TlsSetupError"]
