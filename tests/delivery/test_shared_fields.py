"""What a ``shared`` audit record names besides the message (issue 26's sharing report counts
from it): the camera; an event's kind, sensor, snapshot and clip; a clip manifest's MP4 hash,
chunk count and events; nothing guessed for a chunk or a heartbeat."""

from __future__ import annotations

from pathlib import Path

from edge.clips.store import ClipStore
from edge.config.loader import loads
from edge.core.kinds import Kind, Severity, State
from edge.events.model import Event
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import build_manifest, sign_manifest
from edge.outbox.ledger import item_fields
from edge.outbox.policy import SharingPolicy
from edge.outbox.queue import DeliveryQueue
from edge.outbox.store import Outbox


def test_each_message_names_what_the_report_counts(tmp_path: Path) -> None:
    """Messages as the node's queue makes them: a camera event, a sensor event, a snapshot,
    a clip's manifest and chunks, a heartbeat; each one's fields."""
    cfg = loads(f"""
[node]
id = "n1"
site = "s1"
data_dir = "{tmp_path}"
[[destinations]]
name = "police"
host = "localhost"
allow_insecure = true
""")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    store = ClipStore(tmp_path / "clips", 10**8, 86400)
    queue = DeliveryQueue(outbox, SharingPolicy(cfg.destinations), store, chunk_size=1000)
    queue.store_event(
        Event(
            Kind.PERSON,
            Severity.WARNING,
            State.START,
            "n1",
            "s1",
            1.0,
            "o",
            camera="hall",
            snapshot_id="snap-1",
            clip_id="clip-1",
            id="e1",
        )
    )
    queue.store_event(Event(Kind.DOOR_OPEN, Severity.ALARM, State.START, "n1", "s1", 2.0, "o",
                            sensor="pintu", id="e2"))  # fmt: skip
    jpeg = tmp_path / "snap.jpg"
    jpeg.write_bytes(b"\xff\xd8 jpeg")
    queue.snapshot("snap-1", "hall", jpeg)
    mp4 = tmp_path / "clip.mp4"
    mp4.write_bytes(b"x" * 1500)
    manifest = build_manifest(clip_id="clip-1", path=mp4, node="n1", site="s1", camera="hall",
                              start=0.0, end=1.0, duration_s=1.0, event_ids=["e1"],
                              mask_hash=None, method="copy")  # fmt: skip
    queue.clip(sign_manifest(manifest, NodeKey.create(tmp_path / "k" / "key.pem")), mp4)
    queue.health(b"{}", 60)
    fields = {p.message.id: item_fields(p.message) for p in outbox.pending("police", 100)}
    assert fields["e1"] == {"camera": "hall", "event_kind": "person", "snapshot_id": "snap-1",
                            "clip_id": "clip-1"}  # fmt: skip
    assert fields["e2"] == {"camera": None, "event_kind": "door_open", "sensor": "pintu"}
    assert fields["snapshot/snap-1"] == {"camera": "hall"}
    assert fields["clip-1/manifest"] == {"camera": "hall", "clip_sha256": manifest["sha256"],
                                         "event_ids": ["e1"], "chunks": "2"}  # fmt: skip
    assert fields["clip-1/00000"] == {} and fields["clip-1/00001"] == {}
    assert [f for i, f in fields.items() if i.startswith("health/")] == [{}]
