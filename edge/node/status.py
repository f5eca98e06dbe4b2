"""What the node's state is, in one word and the reasons behind it (the status lamp, the
heartbeat, the log)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from edge.events.sink import EventSink
from edge.link.mqtt import MqttLink
from edge.node.camera import CameraWorker
from edge.node.liveness import Vitals
from edge.outbox.store import Outbox
from edge.sensors.contacts import ContactInput
from edge.sensors.outputs import Siren, Status


@dataclass(frozen=True)
class NodeState:
    """The node's status and why it is not healthy."""

    status: Status
    reasons: tuple[str, ...] = ()


class Parts(Protocol):
    """What the state is read from (the node)."""

    sirens: list[Siren]
    links: list[MqttLink]
    cameras: list[CameraWorker]
    sensors: list[ContactInput]
    blocked: dict[str, str]
    sink: EventSink
    outbox: Outbox


def node_state(
    node: Parts, vitals: Vitals | None = None, standing: Sequence[str] = ()
) -> NodeState:
    """Alarm (a siren sounds), offline (a link is down), degraded (something is wrong but
    alerts still go out) or healthy; with a short reason for each fault found. *vitals*
    (:mod:`edge.node.liveness`) adds ``analysis_stalled:CAM``, ``service_stalled:NAME`` and
    ``service_dead:NAME``: a wedged node shows degraded until systemd restarts it.
    *standing*: what the node runs without (``edge.node.degraded``, the audit log's breaks),
    first."""
    reasons: list[str] = list(standing)
    if node.outbox.recovered is not None:
        reasons.append("outbox_recovered")
    if node.outbox.reserve.missing:
        reasons.append("reserve_missing")  # alarms may find no room on a full disk
    if node.sink.fault is not None:
        reasons.append(node.sink.fault)  # disk_full / store_error: events wait in memory
    reasons += [f"camera_blocked:{name}" for name in node.blocked]
    faulted = [w for w in node.cameras if any(lv.faulted for lv in w.liveness.values())]
    reasons += [f"camera_fault:{w.cfg.name}" for w in faulted]
    reasons += vitals.reasons if vitals is not None else ()
    reasons += [f"sensor_flapping:{s.cfg.name}" for s in node.sensors if s.flapping]
    reasons += [f"delivery_error:{x.dest.name}" for x in node.links if x.stats.delivery_error]
    reasons += [f"duplicate_node_id:{x.dest.name}" for x in node.links if x.stats.duplicate_id]
    reasons += [f"certificate_refused:{x.dest.name}:{x.stats.certificate_refused}"
                for x in node.links if x.stats.certificate_refused]  # fmt: skip
    offline = [f"link_down:{x.dest.name}" for x in node.links if not x.connected]
    if any(s.is_on for s in node.sirens):
        return NodeState(Status.ALARM, tuple(offline + reasons))
    if offline:
        return NodeState(Status.OFFLINE, tuple(offline + reasons))
    return NodeState(Status.DEGRADED if reasons else Status.HEALTHY, tuple(reasons))
