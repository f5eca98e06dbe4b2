"""GPIO inputs and outputs behind gpiozero, with an injected pin factory."""

from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren, Status, StatusLed

__all__ = ["ContactInput", "Siren", "Status", "StatusLed"]
