"""Composition root: config -> real (or injected fake) parts -> a running node."""

from __future__ import annotations

import threading
import time
from typing import Any

from edge.capture import build_inputs
from edge.config import EdgeConfig
from edge.detect import build_detector
from edge.events import EventFactory, EventSink
from edge.events.model import Kind, Severity, State
from edge.ids import new_id
from edge.logs import get_logger
from edge.outbox import Outbox
from edge.pipeline import CameraWorker
from edge.privacy import MaskSpec, PrivacyError
from edge.sensors import ContactInput
from edge.transport import MqttLink, SharingPolicy

log = get_logger(__name__)


def make_pin_factory(cfg: EdgeConfig) -> Any:
    """gpiozero's MockFactory when configured, else None (gpiozero's default)."""
    if cfg.gpio.factory == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None


class Node:
    """Everything one node runs. Parts are built from config; tests may inject a pin factory."""

    def __init__(self, cfg: EdgeConfig, *, pin_factory: Any = None, picamera2: Any = None) -> None:
        self.cfg = cfg
        self.outbox = Outbox(cfg.outbox_path)
        self.sink = EventSink(self.outbox, SharingPolicy(cfg.destinations))
        self.factory = EventFactory(cfg.node.id, cfg.node.site)
        self.links = [
            MqttLink(d, cfg.node, self.outbox, window=cfg.outbox.max_inflight)
            for d in cfg.destinations
        ]
        self.sink.subscribe(self._wake_links)
        self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg)
        self.detector = build_detector(cfg.detector)  # one model, shared by the cameras
        self.cameras: list[CameraWorker] = []
        self.blocked: dict[str, str] = {}
        """Cameras that share nothing because their privacy mask cannot be applied."""
        for cam in cfg.cameras:
            if cam.private:
                log.info("camera.private", camera=cam.name, note="never opened")
                continue
            try:
                spec = MaskSpec.from_config(cam)
                inputs = build_inputs(cam, record=False, picamera2=picamera2)
                mask_hash = spec.digest if spec else None
            except PrivacyError as e:
                log.error("privacy.camera_blocked", camera=cam.name, error=str(e))
                self.blocked[cam.name] = str(e)
                continue
            self.cameras.append(
                CameraWorker(
                    cam,
                    inputs,
                    self.factory,
                    self.sink.accept,
                    mask_hash=mask_hash,
                    detector=self.detector,
                )
            )
        self.sensors = [
            ContactInput(s, self.factory, self.sink.accept, pin_factory=self.pin_factory)
            for s in cfg.sensors
        ]
        self._started = time.monotonic()

    def _wake_links(self, _event: object) -> None:
        for link in self.links:
            link.wake()

    def start(self) -> None:
        """Start links first (so nothing waits), then sensors, then cameras."""
        for link in self.links:
            link.start()
        for name, error in self.blocked.items():
            self.sink.accept(
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
        log.info(
            "node.started",
            node=self.cfg.node.id,
            site=self.cfg.node.site,
            cameras=len(self.cameras),
            sensors=len(self.sensors),
            destinations=[d.name for d in self.cfg.destinations],
        )

    def wait_cameras(self, timeout: float | None = None) -> bool:
        """Wait until every camera's input has ended (replay); True if all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for cam in self.cameras:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not cam.join(left):
                return False
        return True

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
        """Stop cameras, release pins, close links (offline status), close the outbox."""
        for cam in self.cameras:
            cam.stop()
        for cam in self.cameras:
            cam.join(5.0)
        for sensor in self.sensors:
            sensor.close()
        for link in self.links:
            link.stop()
        self.outbox.close()
        log.info(
            "node.stopped",
            node=self.cfg.node.id,
            uptime_s=round(time.monotonic() - self._started, 1),
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
