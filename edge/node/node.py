"""Composition root: config -> parts -> a running node. It only builds and wires; what each
part does lives in its stage package (see README, "Architecture")."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.analysis.detect.factory import build_detector
from edge.clips.snapshot import SnapshotSaver
from edge.clips.store import ClipStore
from edge.config.root import EdgeConfig
from edge.config.transport import DestinationConfig
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
from edge.evidence.audit_setaside import open_audit
from edge.evidence.keyslot import KeySlot
from edge.node import heartbeat, statefile
from edge.node.cameras import blocked_faults, build_workers, plan_cameras
from edge.node.clipparts import build_clips
from edge.node.degraded import Degraded
from edge.node.enrolment import PendingLinks, waiting_destinations
from edge.node.housekeeping import Housekeeper
from edge.node.keywait import HELD_NAME, HeldEvents, KeyGate, KeyWatch
from edge.node.lifecycle import CAMERA_STOP_S, Lifecycle
from edge.node.liveness import LivenessCheck
from edge.node.outbox_watch import OutboxWatch
from edge.node.statewatch import StateWatch
from edge.node.status import NodeState, node_state
from edge.node.stopflush import STOP_BUDGET_S, DeliveryFlush
from edge.sensors.outputs import Status
from edge.sensors.panel import Panel
from edge.sensors.pins import make_pin_factory

log = get_logger(__name__)

EXIT_MARGIN_S = 2.0
"""Kept from the stop budget for closing the stores and the process's exit."""


class Node:
    """Everything one node runs. Tests may inject a pin factory and a picamera2 module; a
    node that first ran on its GPIO alone (``edge.node.safety``) hands over its *gpio*.

    Life safety before evidence: a missing, unreadable or swapped signing key, a damaged audit
    log and a destination without its certificate do not stop the build; the node runs
    without them (:attr:`degraded` says what and why) and takes each back when it can."""

    def __init__(
        self, cfg: EdgeConfig, *, pin_factory: Any = None, picamera2: Any = None, gpio: Any = None
    ) -> None:
        self.cfg = cfg
        c = cfg.clips
        self.degraded = Degraded()
        self.key = KeySlot(cfg.key_path)
        self.audit, self.chain_break = open_audit(cfg.audit_path, signer=self.key.key)
        if self.chain_break is not None:
            kept = self.chain_break.kept_as
            self.degraded.set("audit", f"audit_log_set_aside:{kept}", kept_as=str(kept))
        self.store = ClipStore.from_config(cfg)
        waiting = waiting_destinations(cfg)
        d = Delivery(cfg, self.audit, self.store, self.key, waiting=waiting)
        self._delivery = d
        self.outbox, self.delivery, self.links = d.outbox, d.queue, d.links
        held = HeldEvents(cfg.outbox_path.with_name(HELD_NAME))
        self.keys = KeyWatch(self.key, self.audit, KeyGate(self.delivery, self.key, held),
                             self.degraded)  # fmt: skip
        self.factory = EventFactory(cfg.node.id, cfg.node.site)
        self.sink = EventSink(self.keys.gate, backlog_max=cfg.outbox.unstored_max)
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
            snapshots=SnapshotSaver(self.store, c.snapshot_quality, self._snapshot),
            recorders=self.recorders,
        )
        if gpio is not None:  # its events come here once the node is built (the end)
            self.gpio, self.pin_factory = gpio, gpio.pin_factory
        else:
            self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg)
            self.gpio = Panel(cfg, self.factory, self.path.accept, self.pin_factory)
        self.sensors, self.sirens = self.gpio.sensors, self.gpio.sirens
        self.sink.subscribe_local(self.gpio.on_event)  # before storage
        self.sink.subscribe_waiting(self.delivery.offer_event)  # not storable: from memory
        self.outbox_watch = OutboxWatch(self.outbox, self.factory, self.path.accept)
        self.outbox_watch.report()  # a damaged or lost outbox found at start
        self.pending = PendingLinks(cfg, waiting, self._start_link, self.degraded)
        chores: list[Callable[[], object]] = [self.keys.check, self.pending.check]
        chores += [r.tick for r in self.recorders.values()]
        chores += [self.sink.retry, d.ledger.retry, self.outbox.reserve.hold, self.store.expire]
        chores += [self.outbox_watch.check]
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
        self.stopped_with: list[str] = []
        """The services a stop left behind (stuck in a call), once stopped."""
        if gpio is not None:
            gpio.emit_to(self.path.accept)

    def accept(self, event: Event) -> None:
        """Accept an event from outside the stages (tests, the demo)."""
        self.path.accept(event)

    def _start_link(self, dest: DestinationConfig) -> None:
        """A destination that waited for its files starts (it stops with the other links)."""
        link = self._delivery.link(dest)
        link.start()
        self.links.append(link)
        self.lifecycle.add(link, first=True)

    def _snapshot(self, snap_id: str, camera: str, path: Path) -> None:
        """Queue a saved snapshot, signed; without a key it stays in the clip store."""
        if not self.key.usable:
            log.warning("snapshot.unsent", id=snap_id, camera=camera, reason="no signing key")
            return
        self.delivery.snapshot(snap_id, camera, path)

    def _report_blocked(self) -> None:
        for event in blocked_faults(self.factory, self.blocked):
            self.path.accept(event)

    def heartbeat(self) -> None:
        """Sign the audit head, write the state file, queue a health report (retained).
        Without a signing key nothing is signed or sent; the state file is still written."""
        if self.key.key is not None:
            self.audit.checkpoint(self.key.key)  # the head it reports is signed, every 100th too
        health = statefile.written(self.cfg, heartbeat.report(self))  # for `edge status`
        if self.key.key is None:
            return  # an unsigned heartbeat would be quarantined: the receiver sees silence
        payload = json.dumps(health, sort_keys=True, separators=(",", ":"))
        self.delivery.health(payload.encode(), 3 * self.cfg.health.interval_s)

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        self.gpio.reset_sirens()

    def standing(self) -> list[str]:
        """What the node runs without, and why (each naming its file), and the audit log's
        breaks: the first reasons of its state."""
        return [*self.degraded.reasons(), *self.audit.reasons]

    def state(self) -> NodeState:
        """Alarm, offline, degraded or healthy, with the reasons (a wedged stage's too)."""
        return node_state(self, self.vitals.check(), self.standing())

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
            waiting=sorted(self.pending.pending),
            key_id=self.key.id or None,
            degraded=self.degraded.reasons(),
        )

    def alive(self) -> bool:
        """Liveness for the watchdog: no stage wedged, no service thread dead (liveness.py)."""
        return self.vitals.check().alive

    def stop(self) -> list[str]:
        """Stop every service in reverse order within the stop budget, then close the stores;
        returns the services left behind (stuck in a call: named in the log). Every camera
        is asked at once and given :data:`CAMERA_STOP_S` together, so analysis wedged in a
        call costs the stop that much, not the budget."""
        self.flush.begin()  # the stop budget counts from here
        deadline = time.monotonic() + STOP_BUDGET_S - EXIT_MARGIN_S
        for camera in self.cameras:
            camera.stop()
        cameras_by = time.monotonic() + CAMERA_STOP_S
        late = [c.name for c in self.cameras if not c.join(cameras_by - time.monotonic())]
        stuck = self.lifecycle.stop(timeout_each=30.0, deadline=deadline, abandoned=late)
        self.outbox.close()
        self.store.close()
        uptime_s = round(time.monotonic() - self.started_mono, 1)
        log.info("node.stopped", node=self.cfg.node.id, uptime_s=uptime_s, stuck=stuck)
        self.stopped_with = stuck
        return stuck
