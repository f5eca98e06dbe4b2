"""The heartbeat: what a supervisor needs to know the node is alive and well."""

from __future__ import annotations

import glob
import json
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from edge import __version__
from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.core.clock import clock_synced
from edge.events.sink import EventSink
from edge.evidence.audit import AuditLog
from edge.evidence.keyslot import KeySlot
from edge.link.mqtt import MqttLink
from edge.node.camera import CameraWorker
from edge.node.overload import CameraLoad, OverloadWatch
from edge.node.status import NodeState
from edge.outbox.store import Outbox
from edge.sensors.contacts import ContactInput
from edge.wire.certdays import tls_days

SCHEMA = "warehouse-edge/health/1"


def cpu_temperature_c() -> float | None:
    """Hottest thermal zone in degrees Celsius (Raspberry Pi, Jetson), None where unknown."""
    temps = []
    for path in glob.glob("/sys/class/thermal/thermal_zone*/temp"):
        try:
            temps.append(int(Path(path).read_text().strip()) / 1000)
        except (OSError, ValueError):
            continue
    return max(temps) if temps else None


class HealthSource(Protocol):
    """What the heartbeat reads (the node)."""

    cfg: EdgeConfig
    cameras: list[CameraWorker]
    blocked: dict[str, str]
    outbox: Outbox
    store: ClipStore
    sensors: list[ContactInput]
    links: list[MqttLink]
    audit: AuditLog
    key: KeySlot
    started_mono: float
    overload: OverloadWatch

    sink: EventSink

    def state(self) -> NodeState:
        """The node's state and the reasons."""
        ...


def link_health(link: MqttLink, now: float | None = None) -> dict[str, Any]:
    """One destination's entry in the heartbeat's ``links`` section at Unix time *now*:
    with the days its TLS files stay good (``cert_days``, ``ca_days``, ``crl_days``,
    :func:`edge.wire.certdays.tls_days`) and a refused client certificate's cause."""
    return {
        **tls_days(link.dest.tls, time.time() if now is None else now),
        "certificate_refused": link.stats.certificate_refused,
        "connected": link.connected,
        "last_error": link.stats.last_error,
        "delivery_error": link.stats.delivery_error,
        "broker_max_packet": link.packets.limit,
        "no_subscribers": link.stats.no_subscribers,
        "refusals": dict(link.stats.refusals),
        "duplicate_node_id": link.stats.duplicate_id,
        "connects": link.stats.connects,
    }


def camera_health(w: CameraWorker, now: float, load: CameraLoad | None = None) -> dict[str, Any]:
    """One camera's entry in the heartbeat's ``cameras`` section at Unix time *now*.
    ``lag_s``: how far behind real time its newest analysed frame was (``decode_lag_s`` of
    it in decoding); ``session``: that frame's input session (it counts reconnects);
    ``dropped``: analysis frames dropped since start; ``behind_frames``: frames analysed while
    behind real time, with the detector's follow-up runs shed (:mod:`edge.analysis.schedule`).
    With its *load* over the recent window
    (:mod:`edge.node.overload`): ``dropped_recent`` and ``dropped_share`` of that window,
    ``fps`` analysed against ``fps_configured``, and ``window_s`` (the seconds it covers)."""
    stats = w.analyzer.stats
    age = None if w.last_frame_wall is None else round(now - w.last_frame_wall, 2)
    return {
        "frames": w.frames_analysed,
        "dropped": w.dropped,
        "last_frame_age_s": age,
        "faulted": any(lv.faulted for lv in w.liveness.values()),
        "detector_calls": stats.detector_calls,
        "behind_frames": stats.behind_frames,
        "detector_ms": round(stats.last_detector_ms, 1),
        "lag_s": None if w.lag_s is None else round(w.lag_s, 3),
        "decode_lag_s": None if w.decode_lag_s is None else round(w.decode_lag_s, 3),
        "session": w.session,
        **(load or CameraLoad(fps_configured=w.cfg.fps)).health(),
    }


def payload(health: dict[str, Any]) -> bytes:
    """The heartbeat's bytes on the wire (compact, sorted JSON)."""
    return json.dumps(health, sort_keys=True, separators=(",", ":")).encode()


def report(node: HealthSource) -> dict[str, Any]:
    """The health object published (retained) on PREFIX/SITE/NODE/health."""
    now = time.time()
    state = node.state()
    disk = shutil.disk_usage(node.cfg.data_dir)
    cameras = {w.cfg.name: camera_health(w, now, node.overload.load(w.cfg.name))
               for w in node.cameras}  # fmt: skip
    for name, error in node.blocked.items():
        cameras[name] = {"blocked": error}
    return {
        "schema": SCHEMA,
        "node": node.cfg.node.id,
        "site": node.cfg.node.site,
        "version": __version__,
        "time": round(now, 3),
        "uptime_s": round(time.monotonic() - node.started_mono, 1),
        "clock_synced": clock_synced(),
        "queue": node.outbox.depth(),
        "outbox_counters": node.outbox.counters(),
        "disk_free_bytes": disk.free,
        "clips_bytes": node.store.usage(),
        "clips_evicted": node.store.evicted,
        "cpu_temp_c": cpu_temperature_c(),
        "cameras": cameras,
        "sensors": [s.status() for s in node.sensors],
        "status": str(state.status),
        "reasons": list(state.reasons),
        "storage": {
            "fault": node.sink.fault,
            "unstored_events": len(node.sink.backlog),
            "unstored_dropped": dict(node.sink.backlog.dropped),
            "reserve_held": node.outbox.reserve.held,
            "outbox_recovered": node.outbox.recovered,
        },
        "links": {link.dest.name: link_health(link, now) for link in node.links},
        "audit_head": node.audit.head,
        "key_id": node.key.id or None,  # None: no usable signing key (see reasons)
    }
