"""Composition root: config -> parts -> a running node. It only builds and wires; what each
part does lives in its stage package (see README, "Architecture")."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from edge.analysis.detect.factory import build_detector
from edge.clips.snapshot import SnapshotSaver
from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.core.lifecycle import Hooks
from edge.core.logs import get_logger
from edge.delivery.factory import Delivery
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.path import EventPath
from edge.events.rules import Rules
from edge.events.scope import CameraScope
from edge.events.sink import EventSink
from edge.events.triggers import ClipTriggers
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey
from edge.node import heartbeat, statefile
from edge.node.cameras import blocked_faults, build_workers, plan_cameras
from edge.node.clipparts import build_clips
from edge.node.housekeeping import Housekeeper
from edge.node.lifecycle import Lifecycle
from edge.node.liveness import LivenessCheck
from edge.node.statewatch import StateWatch
from edge.node.status import NodeState, node_state
from edge.node.stopflush import DeliveryFlush
from edge.sensors.outputs import Status
from edge.sensors.panel import Panel
from edge.sensors.pins import make_pin_factory

log = get_logger(__name__)


class Node:
    """Everything one node runs. Tests may inject a pin factory and a picamera2 module."""

    def __init__(self, cfg: EdgeConfig, *, pin_factory: Any = None, picamera2: Any = None) -> None:
        self.cfg = cfg
        c = cfg.clips
        self.key = NodeKey(cfg.key_path)
        self.audit = AuditLog(cfg.audit_path, signer=self.key)
        self.store = ClipStore.from_config(cfg)
        d = Delivery(cfg, self.audit, self.store, self.key)
        self.outbox, self.delivery, self.links = d.outbox, d.queue, d.links
        self.factory = EventFactory(cfg.node.id, cfg.node.site)
        self.sink = EventSink(self.delivery, backlog_max=cfg.outbox.unstored_max)
        plan = plan_cameras(cfg.cameras, record=c.enabled, picamera2=picamera2)
        self.blocked = plan.blocked
        self.finalizer, self.recorders = build_clips(self, plan)  # recorders journal their clips
        scope = CameraScope.from_config(cfg.sensors)
        triggers = ClipTriggers(self.recorders, scope)
        self.path = EventPath(Rules(cfg.rules, scope), triggers, self.sink)
        self.cameras = build_workers(
            plan,
            self.factory,
            self.path.accept,
            detector=build_detector(cfg.detector),  # one model, shared by the cameras
            snapshots=SnapshotSaver(self.store, c.snapshot_quality, self.delivery.snapshot),
            recorders=self.recorders,
        )
        self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg)
        self.gpio = Panel(cfg, self.factory, self.path.accept, self.pin_factory)
        self.sensors, self.sirens = self.gpio.sensors, self.gpio.sirens
        self.sink.subscribe_local(self.gpio.on_event)  # before storage
        chores: list[Callable[[], object]] = [r.tick for r in self.recorders.values()]
        chores += [self.sink.retry, d.ledger.retry, self.outbox.reserve.hold, self.store.expire]
        chores += [self.outbox.expire, lambda: self.gpio.show(self.status())]
        self.housekeeper = Housekeeper(chores, self.heartbeat, cfg.health.interval_s)
        self.flush = DeliveryFlush(self.outbox, self.links)  # stopping: clips out before links
        self.lifecycle = Lifecycle(
            [
                *self.links,
                self.flush,
                self.finalizer,
                *self.recorders.values(),
                Hooks("blocked-cameras", start=self._report_blocked),
                self.gpio,
                *self.cameras,
                self.housekeeper,
                StateWatch(self),  # `edge status` follows every change
            ]
        )
        self.vitals = LivenessCheck.of(self.cameras, self.lifecycle.services)  # the watchdog's
        self.started_mono = time.monotonic()

    def accept(self, event: Event) -> None:
        """Accept an event from outside the stages (tests, the demo)."""
        self.path.accept(event)

    def _report_blocked(self) -> None:
        for event in blocked_faults(self.factory, self.blocked):
            self.path.accept(event)

    def heartbeat(self) -> None:
        """Sign the audit head, write the state file, queue a health report (retained)."""
        self.audit.checkpoint(self.key)  # the head it reports is signed; so is every 100th
        health = statefile.written(self.cfg, heartbeat.report(self))  # for `edge status`
        payload = json.dumps(health, sort_keys=True, separators=(",", ":"))
        self.delivery.health(payload.encode(), 3 * self.cfg.health.interval_s)

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        self.gpio.reset_sirens()

    def state(self) -> NodeState:
        """Alarm, offline, degraded or healthy, with the reasons (a wedged stage's too)."""
        return node_state(self, self.vitals.check())

    def status(self) -> Status:
        """What the status lamp shows: alarm, offline, degraded or healthy."""
        return self.state().status

    def start(self) -> None:
        """Start every service in order (links first, cameras last)."""
        self.lifecycle.start()
        log.info(
            "node.started",
            node=self.cfg.node.id,
            site=self.cfg.node.site,
            cameras=len(self.cameras),
            sensors=len(self.sensors),
            destinations=[d.name for d in self.cfg.destinations],
            key_id=self.key.id,
        )

    def alive(self) -> bool:
        """Liveness for the watchdog: no stage wedged, no service thread dead (liveness.py)."""
        return self.vitals.check().alive

    def stop(self) -> None:
        """Stop every service in reverse order, then close the stores."""
        self.flush.begin()  # the stop budget counts from here
        self.lifecycle.stop(timeout_each=30.0)
        self.outbox.close()
        self.store.close()
        uptime_s = round(time.monotonic() - self.started_mono, 1)
        log.info("node.stopped", node=self.cfg.node.id, uptime_s=uptime_s)
