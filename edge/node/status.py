"""What the node's state is, in one word (the status lamp, the heartbeat)."""

from __future__ import annotations

from collections.abc import Sequence

from edge.delivery.mqtt import MqttLink
from edge.node.camera import CameraWorker
from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren, Status


def node_status(
    sirens: Sequence[Siren],
    links: Sequence[MqttLink],
    cameras: Sequence[CameraWorker],
    sensors: Sequence[ContactInput],
    blocked: dict[str, str],
) -> Status:
    """Alarm (a siren sounds), offline (a link is down), degraded (something is wrong but
    alerts still go out) or healthy."""
    if any(s.is_on for s in sirens):
        return Status.ALARM
    if links and not all(link.connected for link in links):
        return Status.OFFLINE
    degraded = (
        bool(blocked)
        or any(lv.faulted for w in cameras for lv in w.liveness.values())
        or any(s.flapping for s in sensors)
        or any(link.stats.delivery_error for link in links)
    )
    return Status.DEGRADED if degraded else Status.HEALTHY
