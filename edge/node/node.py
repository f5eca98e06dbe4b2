"""Composition root: config -> parts -> a running node. It only builds and wires; what each
part does lives in its stage package (see README, "Architecture")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from edge.analysis.detect.queue import shared_detector
from edge.clips.snapshot import SnapshotSaver
from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.core.lifecycle import Hooks
from edge.core.logs import get_logger
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.path import EventPath
from edge.events.rules import Rules
from edge.events.scope import CameraScope
from edge.events.sink import EventSink
from edge.events.triggers import ClipTriggers
from edge.link.factory import Delivery
from edge.node import heartbeat, memory, overload, statefile
from edge.node.cameras import blocked_faults, build_workers, plan_cameras
from edge.node.clipparts import build_clips
from edge.node.housekeeping import Housekeeper
from edge.node.lifecycle import Lifecycle
from edge.node.liveness import LivenessCheck
from edge.node.outbox_watch import OutboxWatch
from edge.node.stateparts import StateParts, stop_within
from edge.node.statewatch import StateWatch
from edge.node.status import NodeState, node_state
from edge.node.stopflush import STOP_BUDGET_S, DeliveryFlush
from edge.sensors.outputs import Status
from edge.sensors.panel import Panel
from edge.sensors.pins import make_pin_factory

log = get_logger(__name__)


class Node:
    """Everything one node runs. Tests may inject a pin factory and a picamera2 module; a node
    that ran on its GPIO alone (``edge.node.safety``) hands over its *gpio*."""

    def __init__(
        self, cfg: EdgeConfig, *, pin_factory: Any = None, picamera2: Any = None, gpio: Any = None
    ) -> None:
        self.cfg = cfg
        c = cfg.clips
        self.parts = StateParts(cfg)  # key, audit log, waiting destinations: none stops it
        self.degraded, self.key, self.audit = self.parts.degraded, self.parts.key, self.parts.audit
        self.store = ClipStore.from_config(cfg)
        d = Delivery(cfg, self.audit, self.store, self.key, waiting=self.parts.waiting)
        self.outbox, self.delivery, self.links = d.outbox, d.queue, d.links
        self.keys = self.parts.key_watch(self.delivery)  # events wait on disk for a lost key
        self.factory = EventFactory(cfg.node.id, cfg.node.site)
        self.sink = EventSink(self.keys.gate, backlog_max=cfg.outbox.unstored_max)
        plan = plan_cameras(cfg.cameras, record=c.enabled, picamera2=picamera2)
        self.blocked = plan.blocked
        self.finalizer, self.recorders = build_clips(self, plan)  # recorders journal their clips
        scope = CameraScope.from_config(cfg.sensors)
        triggers = ClipTriggers(self.recorders, scope)
        self.path = EventPath(Rules(cfg.rules, scope), triggers, self.sink)
        snaps = SnapshotSaver(self.store, c.snapshot_quality, self.keys.snapshots(d.queue.snapshot))
        self.detector = shared_detector(cfg.detector)  # one, shared: a fair queue in front
        self.cameras = build_workers(plan, self.factory, self.path.accept, snapshots=snaps,
                                     detector=self.detector, recorders=self.recorders)  # fmt: skip
        self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg)
        self.gpio = gpio or Panel(cfg, self.factory, self.path.accept, self.pin_factory)
        self.sensors, self.sirens = self.gpio.sensors, self.gpio.sirens
        self.sink.subscribe_local(self.gpio.on_event)  # before storage
        self.sink.subscribe_waiting(self.delivery.offer_event)  # not storable: from memory
        self.outbox_watch = OutboxWatch(self.outbox, self.factory, self.path.accept)
        self.outbox_watch.report()  # a damaged or lost outbox found at start
        self.pending = self.parts.pending(d, self)  # started later, stopped with the links
        chores: list[Callable[[], object]] = [self.keys.check, self.pending.check, memory.trim]
        chores += [*(r.tick for r in self.recorders.values()), self.sink.retry, d.ledger.retry]
        chores += [self.outbox.reserve.hold, self.store.expire, self.outbox_watch.check]
        self.overload = overload.OverloadWatch(self.cameras, cfg.health.overload)  # drops, lag
        chores += [self.overload.check, self.outbox.expire, lambda: self.gpio.show(self.status())]
        self.housekeeper = Housekeeper(chores, self.heartbeat, cfg.health.interval_s)
        self.flush = DeliveryFlush(self.outbox, self.links)  # stopping: clips out before links
        self.lifecycle = Lifecycle([  # the start order (the stop: the reverse)
            *self.links, self.flush, self.finalizer, *self.recorders.values(),
            Hooks("blocked-cameras", start=self._report_blocked), self.gpio,
            *([self.detector] if self.detector else []), *self.cameras,
            self.housekeeper, StateWatch(self),  # `edge status` follows every change
        ])  # fmt: skip
        self.vitals = LivenessCheck.of(self.cameras, self.lifecycle.services)  # the watchdog's
        self.started_mono = time.monotonic()
        self.stopped_with: list[str] = []  # the services a stop left behind (stuck)
        if gpio is not None:
            gpio.emit_to(self.path.accept)  # the events that waited, then every new one

    def accept(self, event: Event) -> None:
        """Accept an event from outside the stages (tests, the demo)."""
        self.path.accept(event)

    def _report_blocked(self) -> None:
        for event in blocked_faults(self.factory, self.blocked):
            self.path.accept(event)

    def heartbeat(self) -> None:
        """Sign the audit head, write the state file, queue a health report (retained); with
        no signing key only the state file (nothing unsigned is sent)."""
        signed = self.keys.sign_head()  # the head it reports is signed; so is every 100th
        health = statefile.written(self.cfg, heartbeat.report(self))  # for `edge status`
        if signed:
            self.delivery.health(heartbeat.payload(health), 3 * self.cfg.health.interval_s)

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        self.gpio.reset_sirens()

    def standing(self) -> list[str]:
        """What the node runs without and why: the first reasons of its state."""
        return self.parts.standing()

    def state(self) -> NodeState:
        """Alarm, offline, degraded or healthy, with the reasons (a wedged stage's too)."""
        return node_state(self, self.vitals.check(), self.standing() + self.overload.reasons())

    def status(self) -> Status:
        """What the status lamp shows: alarm, offline, degraded or healthy."""
        return self.state().status

    def start(self) -> None:
        """Start every service in order (links first, cameras last)."""
        self.lifecycle.start()
        log.info("node.started", node=self.cfg.node.id, site=self.cfg.node.site,
                 cameras=len(self.cameras), sensors=len(self.sensors),
                 destinations=[d.name for d in self.cfg.destinations],
                 key_id=self.key.id or None, degraded=self.standing())  # fmt: skip

    def alive(self) -> bool:
        """Liveness for the watchdog: no stage wedged, no service thread dead (liveness.py)."""
        return self.vitals.check().alive

    def stop(self) -> list[str]:
        """Stop every service in reverse order within the stop budget (one stuck in a call is
        left behind, named), then close the stores; returns those left behind."""
        self.flush.begin()  # the stop budget counts from here
        self.stopped_with = stuck = stop_within(self.lifecycle, self.cameras, STOP_BUDGET_S)
        self.outbox.close()
        self.store.close()
        uptime_s = round(time.monotonic() - self.started_mono, 1)
        log.info("node.stopped", node=self.cfg.node.id, uptime_s=uptime_s, stuck=stuck)
        return stuck
