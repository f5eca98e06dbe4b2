"""GPIO inputs and outputs behind gpiozero, with an injected pin factory."""

from edge.sensors.contacts import ContactInput

__all__ = ["ContactInput"]
