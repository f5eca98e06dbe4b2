"""A node's sharing history made with the node's own parts, for the sharing report's tests:
its config (a masked camera, a private one, an unmasked one; the police and the operator),
its key, a saved snapshot, and an audit chain in which the real delivery queue, outbox and
ledger record events, a snapshot and a clip delivered, and the real sharing audit records a
change of the police's cameras; at times the test chooses (the audit log's clock)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge.clips.store import ClipStore
from edge.config.loader import loads
from edge.config.root import EdgeConfig
from edge.core.kinds import Kind, Severity, State
from edge.events.model import Event
from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey, public_pem
from edge.evidence.manifest import ClipManifest, build_manifest, sign_manifest
from edge.node.sharing_audit import record_sharing
from edge.outbox.ledger import DeliveryLedger
from edge.outbox.policy import SharingPolicy
from edge.outbox.queue import DeliveryQueue
from edge.outbox.store import Outbox

T0 = 1_796_576_400.0
"""2026-12-07 00:00 WIB: the day the made traffic starts."""
MASK = "[[0, 0], [320, 0], [320, 180], [0, 180]]"


def config_text(data: Path, police_cameras: Sequence[str] = ("hall",), mask: str = MASK) -> str:
    """The node's TOML with the police given *police_cameras*, the hall masked by *mask*."""
    cams = ", ".join(f'"{c}"' for c in police_cameras)
    return f"""
[node]
id = "gudang-01"
site = "semarang-utara"
data_dir = "{data}"

[clips]
max_bytes = 104857600
max_age_days = 14

[[cameras]]
name = "hall"
detect = {{ kind = "rtsp", url = "rtsp://10.20.0.11/sub" }}
resolution = [640, 360]
privacy_masks = [{{ name = "kantor kepala gudang", points = {mask} }}]

[[cameras]]
name = "ruang-ganti"
private = true
detect = {{ kind = "rtsp", url = "rtsp://10.20.0.12/sub" }}

[[cameras]]
name = "gate"
detect = {{ kind = "rtsp", url = "rtsp://10.20.0.13/sub" }}

[[destinations]]
name = "police"
host = "localhost"
allow_insecure = true
kinds = ["person", "door_open", "clip", "snapshot"]
cameras = [{cams}]

[[destinations]]
name = "operator"
host = "localhost"
allow_insecure = true
"""


@dataclass
class SharingNode:
    """The node and its parts; :meth:`at` moves the audit log's clock."""

    data: Path
    cfg: EdgeConfig
    key: NodeKey
    audit: AuditLog
    outbox: Outbox
    queue: DeliveryQueue
    ledger: DeliveryLedger
    store: ClipStore
    clock: list[float] = field(default_factory=lambda: [T0])

    def at(self, t: float) -> SharingNode:
        """Records from now on are written at *t*."""
        self.clock[0] = t
        return self

    def deliver(self) -> None:
        """Every destination acknowledges everything queued for it."""
        for dest in ("police", "operator"):
            pending = self.outbox.pending(dest, 1000)
            if pending:
                self.ledger.acknowledged(dest, pending)

    def event(
        self,
        kind: Kind,
        camera: str | None,
        snapshot_id: str | None = None,
        sensor: str | None = None,
        clip_id: str | None = None,
    ) -> Event:
        """An event of *camera* (or of *sensor*), queued and delivered."""
        e = Event(kind, Severity.WARNING, State.START, self.cfg.node.id, self.cfg.node.site,
                  self.clock[0], "occ-1", camera=camera, snapshot_id=snapshot_id,
                  sensor=sensor, clip_id=clip_id)  # fmt: skip
        self.queue.store_event(e)
        self.deliver()
        return e

    def snapshot(self, camera: str, snap_id: str) -> Path:
        """A saved snapshot JPEG of *camera* (kept by the clip store), queued and delivered."""
        image = np.zeros((360, 640, 3), dtype=np.uint8)
        image[:, :, 1] = np.linspace(0, 255, 640, dtype=np.uint8)[None, :]
        ok, buf = cv2.imencode(".jpg", image)
        assert ok
        path = self.store.path_for(f"{snap_id}.jpg")
        path.write_bytes(bytes(buf))
        self.store.add(snap_id, "snapshot", camera, path)
        self.queue.snapshot(snap_id, camera, path)
        self.deliver()
        return path

    def clip(self, camera: str, clip_id: str, event_ids: Sequence[str]) -> ClipManifest:
        """A signed clip of three chunks, queued and delivered; its manifest."""
        path = self.store.path_for(f"{clip_id}.mp4")
        path.write_bytes(bytes(range(256)) * 10)  # 2560 bytes: 3 chunks of 1000
        manifest = build_manifest(
            clip_id=clip_id, path=path, node=self.cfg.node.id, site=self.cfg.node.site,
            camera=camera, start=self.clock[0] - 10, end=self.clock[0], duration_s=10.0,
            event_ids=event_ids, mask_hash=None, method="copy",
        )  # fmt: skip
        self.audit.append("recorded", "clip", clip_id, None, manifest["sha256"], camera=camera,
                          event_ids=list(event_ids))  # fmt: skip
        self.queue.clip(sign_manifest(manifest, self.key), path)
        self.deliver()
        return manifest

    def reconfigure(self, police_cameras: Sequence[str], mask: str = MASK) -> None:
        """The config changed (the police given other cameras, the hall's mask redrawn),
        recorded as the node does at its next start."""
        text = config_text(self.data, police_cameras, mask)
        self.cfg = loads(text)
        (self.data / "node.toml").write_text(text)
        record_sharing(self.cfg, self.audit)
        self.queue.policy = SharingPolicy(self.cfg.destinations)


def sharing_node(tmp: Path) -> SharingNode:
    """A node that has just started for the first time at :data:`T0` (its key made, its
    sharing remembered), nothing sent yet."""
    data = tmp / "data"
    text = config_text(data)
    cfg = loads(text)
    data.mkdir(parents=True, exist_ok=True)
    (data / "node.toml").write_text(text)
    clock = [T0]
    key = NodeKey.create(cfg.key_path)  # as edge keys init does, at T0 (the log's clock)
    audit = AuditLog(cfg.audit_path, clock=lambda: clock[0])
    raw = key.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    audit.append("key_init", "key", key.id, None, hashlib.sha256(raw).hexdigest(),
                 key_id=key.id, alg="Ed25519", public_key=public_pem(key.public))  # fmt: skip
    audit.checkpoint(key)
    record_sharing(cfg, audit)
    outbox = Outbox(data / "outbox.sqlite")
    store = ClipStore.from_config(cfg)
    queue = DeliveryQueue(outbox, SharingPolicy(cfg.destinations), store, chunk_size=1000,
                          site=cfg.node.site, node=cfg.node.id)  # fmt: skip
    ledger = DeliveryLedger(outbox, audit, store)
    return SharingNode(data, cfg, key, audit, outbox, queue, ledger, store, clock)


def made_day(tmp: Path) -> SharingNode:
    """A morning of traffic (times after :data:`T0`):

    - 01:00 a person in the hall with its snapshot (police and operator),
    - 01:01 that event's clip (police and operator),
    - 02:00 a door opened at the gate (the operator only), a checkpoint,
    - 03:00 the police given the gate too (a sharing_change),
    - 04:00 a person at the gate (police and operator),
    - 04:10 the main door's sensor opened (police and operator: no camera), a checkpoint."""
    node = sharing_node(tmp)
    node.at(T0 + 3600).snapshot("hall", "snap-1")
    person = node.event(Kind.PERSON, "hall", snapshot_id="snap-1", clip_id="clip-1")
    node.at(T0 + 3660).clip("hall", "clip-1", [person.id])
    node.at(T0 + 7200).event(Kind.DOOR_OPEN, "gate")
    node.audit.checkpoint()
    node.at(T0 + 10800).reconfigure(["hall", "gate"])
    node.at(T0 + 14400).event(Kind.PERSON, "gate")
    node.at(T0 + 15000).event(Kind.DOOR_OPEN, None, sensor="pintu-utama")
    node.audit.checkpoint()
    return node
