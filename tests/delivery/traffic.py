"""What the delivery tests send and check: link settings for a test broker, numbered events,
signed clips cut into chunks, and reassembly and ordering of what the police received."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair
from edge.demo.subscriber import Received
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import build_manifest, sign_manifest
from edge.outbox.chunks import clip_messages
from edge.outbox.message import OutboxMessage, Priority

ROOT = Path(__file__).resolve().parents[2]


def tls_dest(broker: LocalBroker, ca_path: Path, cert: CertPair, **kw: Any) -> DestinationConfig:
    """The destination "police" (or ``name=``) on *broker*'s TLS port, with *kw* settings."""
    return DestinationConfig(
        name=kw.pop("name", "police"),
        host="localhost",
        port=broker.tls_port,
        tls=TlsConfig(ca=str(ca_path), cert=str(cert.cert), key=str(cert.key)),
        **kw,
    )


def event(i: int, prio: Priority = Priority.EVENT) -> OutboxMessage:
    """Event number *i* (id ``ev-0000i``, payload ``{"seq": i, ...}``)."""
    body = json.dumps({"seq": i, "kind": "person"}).encode()
    return OutboxMessage(f"ev-{i:05d}", prio, "person", "events", body, time.time())


def signed_clip(
    tmp: Path, key: NodeKey, n: int, size: int = 900_000
) -> tuple[list[OutboxMessage], bytes]:
    """Clip ``clip-n`` of *size* random bytes: its signed manifest and 256 KiB chunks, and
    the bytes."""
    path = tmp / f"clip{n}.mp4"
    data = os.urandom(size)
    path.write_bytes(data)
    manifest = build_manifest(
        clip_id=f"clip-{n}",
        path=path,
        node="n",
        site="s",
        camera="hall",
        start=0,
        end=10,
        duration_s=10,
        event_ids=[],
        mask_hash=None,
        method="remux",
    )
    return clip_messages(sign_manifest(manifest, key), path, 256 * 1024), data


def reassemble(msgs: list[Received], clip_id: str) -> bytes:
    """The received chunks of *clip_id*, joined in chunk order."""
    chunks: dict[int, bytes] = {}
    for m in msgs:
        parts = m.topic.split("/")
        if len(parts) >= 2 and parts[-2] == clip_id and parts[-1].isdigit():
            chunks[int(parts[-1])] = m.payload
    return b"".join(chunks[i] for i in sorted(chunks))


def check_order_and_dupes(msgs: list[Received]) -> list[int]:
    """Event seqs in first-arrival order; duplicates must repeat the same payload."""
    seen: dict[str, bytes] = {}
    order = []
    for m in msgs:
        if not m.topic.endswith("/events"):
            continue
        body = m.payload
        ev = json.loads(body)
        key = f"ev-{ev['seq']:05d}"
        if key in seen:
            assert seen[key] == body, "a duplicate with other content"
            continue
        seen[key] = body
        order.append(ev["seq"])
    return order
