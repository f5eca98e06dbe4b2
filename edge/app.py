"""Composition root: config -> real (or injected fake) parts -> a running node."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from edge import heartbeat
from edge.capture import build_inputs
from edge.clips import ClipFinalizer, ClipRecorder, ClipStore
from edge.clips.snapshot import SnapshotSaver
from edge.clips.triggers import ClipTriggers
from edge.config import CameraConfig, EdgeConfig
from edge.detect import build_detector
from edge.events import Event, EventFactory, EventSink
from edge.events.model import Kind, Severity, State
from edge.events.rules import Rules
from edge.evidence import AuditLog, NodeKey
from edge.ids import new_id
from edge.logs import get_logger
from edge.outbox import ClassLimits, Outbox, OutboxMessage, Pending, Priority
from edge.pipeline import CameraWorker
from edge.privacy import MaskSpec, PrivacyError
from edge.sensors import ContactInput, Siren, Status, StatusLed
from edge.transport import MqttLink, SharingPolicy, topics
from edge.transport.chunks import clip_messages

log = get_logger(__name__)


def _sha256_of(m: OutboxMessage) -> str:
    """The hash the audit chain records for a message: of its payload, or for a clip chunk
    the chunk hash computed when it was queued."""
    if m.file is None:
        return hashlib.sha256(m.payload).hexdigest()
    return dict(m.properties).get("sha256", "")


def make_pin_factory(cfg: EdgeConfig) -> Any:
    """gpiozero's MockFactory when configured, else None (gpiozero's default)."""
    if cfg.gpio.factory == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None


class Node:
    """Everything one node runs. Parts are built from config; tests may inject a pin factory
    and a picamera2 module."""

    def __init__(self, cfg: EdgeConfig, *, pin_factory: Any = None, picamera2: Any = None) -> None:
        self.cfg = cfg
        o = cfg.outbox
        self.outbox = Outbox(
            cfg.outbox_path,
            {
                prio: ClassLimits(c.ttl_s, c.max_messages)
                for prio, c in (
                    (Priority.ALARM, o.alarm),
                    (Priority.EVENT, o.event),
                    (Priority.CLIP, o.clip),
                    (Priority.HEALTH, o.health),
                )
            },
        )
        self.policy = SharingPolicy(cfg.destinations)
        self.sink = EventSink(self.outbox, self.policy)
        self.factory = EventFactory(cfg.node.id, cfg.node.site)
        self.key = NodeKey(cfg.key_path)
        self.audit = AuditLog(cfg.audit_path)
        self.links = [
            MqttLink(
                d,
                cfg.node,
                self.outbox,
                window=o.max_inflight,
                max_chunks_inflight=o.max_chunks_inflight,
                on_ack=self._shared,
            )
            for d in cfg.destinations
        ]
        self.sink.subscribe(self._wake_links)
        self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg)
        self.detector = build_detector(cfg.detector)  # one model, shared by the cameras
        c = cfg.clips
        self.store = ClipStore(cfg.clips_dir, c.max_bytes, c.max_age_days * 86400)
        self.snapshots = SnapshotSaver(self.store, c.snapshot_quality, self._snapshot_ready)
        self.mask_hashes: dict[str, str | None] = {}
        self.finalizer = ClipFinalizer(
            self.store,
            self.key,
            self.audit,
            node=cfg.node.id,
            site=cfg.node.site,
            mask_hashes=self.mask_hashes,
            on_clip=self.share_clip,
        )
        self.recorders: dict[str, ClipRecorder] = {}
        self.cameras: list[CameraWorker] = []
        self.blocked: dict[str, str] = {}
        """Cameras that share nothing because their privacy mask cannot be applied."""
        for cam in cfg.cameras:
            self._add_camera(cam, picamera2)
        sensor_cameras = {s.name: list(s.cameras) for s in cfg.sensors}
        self.rules = Rules(cfg.rules, sensor_cameras)
        self.triggers = ClipTriggers(self.recorders, sensor_cameras)
        self.sirens = [Siren(o, self.pin_factory) for o in cfg.outputs if o.kind == "siren"]
        self.lamps = [StatusLed(o, self.pin_factory) for o in cfg.outputs if o.kind == "status_led"]
        for siren in self.sirens:
            self.sink.subscribe(siren.on_event)
        self.sensors = [
            ContactInput(
                s,
                self.factory,
                self.accept,
                pin_factory=self.pin_factory,
                on_reset=self.reset_sirens,
            )
            for s in cfg.sensors
        ]
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self.started_mono = time.monotonic()

    def _add_camera(self, cam: CameraConfig, picamera2: Any) -> None:
        if cam.private:
            log.info("camera.private", camera=cam.name, note="never opened")
            return
        record = self.cfg.clips.enabled
        try:
            spec = MaskSpec.from_config(cam)
            inputs = build_inputs(cam, record=record, picamera2=picamera2)
            mask_hash = spec.digest if spec else None
        except PrivacyError as e:
            log.error("privacy.camera_blocked", camera=cam.name, error=str(e))
            self.blocked[cam.name] = str(e)
            return
        self.mask_hashes[cam.name] = mask_hash
        recorder = None
        if record:
            recorder = ClipRecorder(
                cam.name,
                self.cfg.clips,
                self.finalizer.submit,
                live=any(i.live for i in inputs),
                fps=cam.fps,
            )
            self.recorders[cam.name] = recorder
        self.cameras.append(
            CameraWorker(
                cam,
                inputs,
                self.factory,
                self.accept,
                mask_hash=mask_hash,
                detector=self.detector,
                snapshots=self.snapshots,
                record=recorder.feed if recorder else None,
            )
        )

    # -- the event path ---------------------------------------------------------------------

    def accept(self, event: Event) -> None:
        """Every event goes this way: rules (arming, incident), clips, then the outbox."""
        self.sink.accept(self.triggers.apply(self.rules.apply(event)))

    def _wake_links(self, _event: object) -> None:
        for link in self.links:
            link.wake()

    def share_clip(self, signed: dict[str, Any], path: Path) -> None:
        """A signed clip is stored: queue its manifest and chunks for the destinations that
        take this camera's clips (the same set for every message of the clip)."""
        m = signed["manifest"]
        destinations = self.policy.destinations_for("clip", m["camera"])
        if not destinations:
            self.store.mark_delivered(m["clip_id"])  # nobody may have it: no reason to keep it
            return
        self.outbox.put_many(clip_messages(signed, path, self.cfg.outbox.chunk_size), destinations)
        self._wake_links(None)

    def _snapshot_ready(self, snap_id: str, camera: str, path: Path) -> None:
        message = OutboxMessage(
            id=f"snapshot/{snap_id}",
            priority=Priority.CLIP,
            kind="snapshot",
            topic=topics.snapshot(snap_id),
            payload=path.read_bytes(),
            created=time.time(),
            properties=(("camera", camera), ("content-type", "image/jpeg")),
        )
        if self.outbox.put(message, self.policy.destinations_for("snapshot", camera)) is None:
            self.store.mark_delivered(snap_id)

    def _shared(self, destination: str, delivered: list[Pending]) -> None:
        """The broker acknowledged: record in the audit chain what went where; a clip whose
        manifest and chunks all reached every destination may leave the node first."""
        clips = set()
        for p in delivered:
            m = p.message
            self.audit.append("shared", m.kind, m.id, destination, _sha256_of(m), topic=m.topic)
            if m.kind == "clip":
                clips.add(m.id.split("/", 1)[0])
            elif m.kind == "snapshot":
                self.store.mark_delivered(m.id.split("/", 1)[1])
        for clip_id in clips:
            if self.outbox.remaining(f"{clip_id}/") == 0:
                self.store.mark_delivered(clip_id)
                self.store.mark_delivered(f"{clip_id}.manifest")

    def heartbeat(self) -> None:
        """Queue a health report for the destinations that take it (retained, short-lived)."""
        payload = json.dumps(heartbeat.report(self), sort_keys=True, separators=(",", ":"))
        now = time.time()
        self.outbox.put(
            OutboxMessage(
                id=f"health/{new_id()}",
                priority=Priority.HEALTH,
                kind="node_health",
                topic=topics.HEALTH,
                payload=payload.encode(),
                created=now,
                expires=now + 3 * self.cfg.health.interval_s,
                retain=True,
            ),
            self.policy.destinations_for("node_health"),
        )
        self._wake_links(None)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start links first (so nothing waits), then clips, sensors and cameras."""
        for link in self.links:
            link.start()
        self.finalizer.start()
        for name, error in self.blocked.items():
            self.accept(
                self.factory.make(
                    Kind.CAMERA_FAULT,
                    Severity.ALARM,
                    State.START,
                    new_id(),
                    camera=name,
                    data={"reason": "privacy_mask", "error": error},
                )
            )
        for sensor in self.sensors:
            sensor.start()
        for cam in self.cameras:
            cam.start()
        self._housekeeper = threading.Thread(
            target=self._housekeeping, name="housekeeping", daemon=True
        )
        self._housekeeper.start()
        log.info(
            "node.started",
            node=self.cfg.node.id,
            site=self.cfg.node.site,
            cameras=len(self.cameras),
            sensors=len(self.sensors),
            destinations=[d.name for d in self.cfg.destinations],
            key_id=self.key.id,
        )

    def _housekeeping(self) -> None:
        next_beat = time.monotonic()
        while not self._stop.wait(1.0):
            try:
                for rec in self.recorders.values():
                    rec.tick()
                self.store.expire()
                self.outbox.expire()
                for lamp in self.lamps:
                    lamp.show(self.status())
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.cfg.health.interval_s
                    self.heartbeat()
            except Exception:  # never let housekeeping die
                log.exception("housekeeping.failed")

    def reset_sirens(self) -> None:
        """Silence every siren (reset key, SIGUSR1)."""
        for siren in self.sirens:
            siren.reset()

    def status(self) -> Status:
        """What the status lamp shows: alarm, offline, degraded or healthy."""
        if any(s.is_on for s in self.sirens):
            return Status.ALARM
        if self.links and not all(link.connected for link in self.links):
            return Status.OFFLINE
        degraded = (
            bool(self.blocked)
            or any(lv.faulted for w in self.cameras for lv in w.liveness.values())
            or any(s.flapping for s in self.sensors)
            or any(link.stats.delivery_error for link in self.links)
        )
        return Status.DEGRADED if degraded else Status.HEALTHY

    def wait_cameras(self, timeout: float | None = None) -> bool:
        """Wait until every camera's input has ended (replay); True if all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for cam in self.cameras:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not cam.join(left):
                return False
        return True

    def flush_clips(self, timeout: float = 30.0) -> bool:
        """Finish the clips being cut and wait until all are written (end of a replay)."""
        for rec in self.recorders.values():
            rec.close()
        return self.finalizer.drain(timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty (everything acknowledged) or *timeout*."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.total() == 0:
                return True
            time.sleep(0.05)
        return self.outbox.total() == 0

    def alive(self) -> bool:
        """Liveness for the watchdog: link threads running (cameras may legitimately end)."""
        return all(link.alive() for link in self.links)

    def stop(self) -> None:
        """Stop cameras, finish clips, release pins, close links (offline status)."""
        self._stop.set()
        for cam in self.cameras:
            cam.stop()
        for cam in self.cameras:
            cam.join(5.0)
        for rec in self.recorders.values():
            rec.close()
        self.finalizer.stop()
        for sensor in self.sensors:
            sensor.close()
        for siren in self.sirens:
            siren.close()
        for lamp in self.lamps:
            lamp.close()
        for link in self.links:
            link.stop()
        self.outbox.close()
        self.store.close()
        log.info(
            "node.stopped",
            node=self.cfg.node.id,
            uptime_s=round(time.monotonic() - self.started_mono, 1),
        )


def run_until(node: Node, stop: threading.Event, notifier: Any) -> None:
    """Run *node* until *stop* is set, feeding the systemd watchdog while it is healthy."""
    node.start()
    notifier.notify(READY=1, STATUS="running")
    interval = notifier.ping_interval or 5.0
    while not stop.wait(interval):
        if node.alive():
            notifier.notify(WATCHDOG=1)
        else:
            log.error("node.unhealthy", note="withholding watchdog ping")
    notifier.notify(STOPPING=1)
    node.stop()
