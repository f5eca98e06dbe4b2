"""Simulated nodes for load and fault tests: each has its own Ed25519 key and publishes
signed events, heartbeats and small clips exactly as a node does (same topics, ids,
properties and signatures), through a real broker over mutual TLS."""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.core.ids import new_id
from edge.evidence.keys import key_id, public_pem
from edge.evidence.manifest import sign_manifest
from edge.evidence.signing import SignedFields, message_properties, payload_sha256
from edge.outbox.chunks import clip_messages
from edge.wire import topics
from edge.wire.mqtt5 import new_client, publish_properties

Wire = tuple[str, bytes, tuple[tuple[str, str], ...]]
"""A message as published: relative topic, payload, user properties."""


class MemoryKey:
    """An Ed25519 key held in memory (a simulated node's)."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        self.public = self._key.public_key()
        self.id = key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        """Signature of *data*."""
        return self._key.sign(data)

    @property
    def pem(self) -> str:
        """Public key PEM, for enrolment."""
        return public_pem(self.public)


@dataclass
class SimNode:
    """One simulated node."""

    site: str
    node: str
    key: MemoryKey = field(default_factory=MemoryKey)

    def _wire(self, topic: str, msg_id: str, payload: bytes, *extra: tuple[str, str]) -> Wire:
        fields = SignedFields(self.site, self.node, topic, msg_id, payload_sha256(payload))
        props = (("id", msg_id), *extra, *message_properties(fields, self.key))
        return topic, payload, props

    def event(self, kind: str = "person", **data: object) -> Wire:
        """A signed event; ``data`` goes into its ``data`` field (e.g. ``sent=time``)."""
        event_id = new_id()
        body = {
            "schema": "warehouse-edge/event/1", "id": event_id, "kind": kind,
            "severity": "alarm" if kind == "person" else "info", "state": "start",
            "occurrence": event_id, "incident": None, "node": self.node, "site": self.site,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "clock_synced": True,
            "camera": "gudang-1", "sensor": None, "zones": ["lorong"], "data": data,
        }  # fmt: skip
        return self._wire(topics.EVENTS, event_id, _json(body), ("kind", kind))

    def heartbeat(self, **fields: object) -> Wire:
        """A signed heartbeat (healthy unless *fields* say otherwise)."""
        body = {
            "schema": "warehouse-edge/health/1", "node": self.node, "site": self.site,
            "version": "sim", "time": time.time(), "uptime_s": 1.0, "clock_synced": True,
            "queue": {}, "outbox_counters": {}, "disk_free_bytes": 10**10, "clips_bytes": 0,
            "clips_evicted": 0, "cpu_temp_c": 48.0, "cameras": {}, "links": {},
            "audit_head": hashlib.sha256(self.node.encode()).hexdigest(), "key_id": self.key.id,
            "status": "healthy", "reasons": [], "storage": {},
        }  # fmt: skip
        body.update(fields)
        return self._wire(topics.HEALTH, f"health/{new_id()}", _json(body), ("kind", "node_health"))

    def clip(
        self, path: Path, chunk_size: int = 64 * 1024, clip_id: str | None = None
    ) -> list[Wire]:
        """Manifest and chunks of the clip file at *path*, signed (as clip *clip_id*: a
        new one unless given)."""
        data = path.read_bytes()
        clip_id = clip_id or new_id()
        manifest = {
            "schema": "warehouse-edge/clip-manifest/1", "clip_id": clip_id, "node": self.node,
            "site": self.site, "camera": "gudang-1", "start": time.time() - 10,
            "end": time.time(), "duration_s": 10.0, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "format": "video/mp4; codecs=h264",
            "method": "remux", "event_ids": [], "mask_hash": None,
        }  # fmt: skip
        out = []
        for m in clip_messages(sign_manifest(manifest, self.key), path, chunk_size):
            body = m.body()
            out.append(self._wire(m.topic, m.id, body, *m.properties))
        return out


def _json(body: Mapping[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class Publisher:
    """One MQTT 5 connection that publishes (QoS 1) on behalf of simulated nodes."""

    def __init__(self, port: int, ca: Path, cert: Path, key: Path, prefix: str = "warehouse"):
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.load_cert_chain(str(cert), str(key))
        self.prefix = prefix
        self.client = new_client(f"sim-{new_id()}", ctx)
        self.client.max_inflight_messages_set(1000)
        self._acked = threading.Semaphore(0)
        self.client.on_publish = lambda *_a: self._acked.release()
        self.client.connect("localhost", port, keepalive=30)
        self.client.loop_start()
        self.sent = 0

    def publish(self, node: SimNode, wire: Wire) -> None:
        """Publish one message of *node*."""
        topic, payload, user = wire
        full = f"{self.prefix}/{node.site}/{node.node}/{topic}"
        self.client.publish(full, payload, qos=1, properties=publish_properties(user))
        self.sent += 1

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Wait until the broker acknowledged everything published."""
        deadline = time.monotonic() + timeout
        for _ in range(self.sent):
            if not self._acked.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
        self.sent = 0
        return True

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def fleet(n: int, site_count: int = 10) -> Iterator[SimNode]:
    """*n* simulated nodes spread over Central Java sites."""
    sites = ["semarang", "solo", "magelang", "pekalongan", "tegal", "kudus", "salatiga",
             "purwokerto", "klaten", "boyolali"]  # fmt: skip
    for i in range(n):
        yield SimNode(sites[i % min(site_count, len(sites))], f"gudang-{i:04d}")
