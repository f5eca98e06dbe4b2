"""The receiver against a real mosquitto: what simulated nodes publish is verified, stored
once, reassembled, quarantined or alerted, and acknowledged only once committed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rx import count, enrol, publisher, receiver_config
from timing import wait_until

from edge.bench.fleet import Publisher, SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.service import Receiver
from edge.receiver.store import reads


@pytest.fixture
def prefix(tmp_path: Path) -> str:
    """This test's own topic prefix on the session broker."""
    return "rx-" + "".join(c for c in tmp_path.name.lower() if c.isalnum())[-30:]


@pytest.fixture
def pub(broker: LocalBroker, ca: DemoCA, prefix: str) -> Iterator[Publisher]:
    """A publisher for simulated nodes."""
    p = publisher(broker, ca, prefix)
    yield p
    p.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def receiver(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    prefix: str,
    request: pytest.FixtureRequest,
) -> Iterator[Receiver]:
    """A running receiver on each store engine (a fresh client id per test)."""
    store = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    name = "".join(c for c in tmp_path.name.lower() if c.isalnum())[-40:]
    cfg = receiver_config(tmp_path / "rx", broker, ca, name=name, store=store,
                          incomplete_after_s=2, prefix=prefix)  # fmt: skip
    r = Receiver(cfg)
    r.start()
    assert r.ingest.connected.wait(10)
    yield r
    r.stop()


def _alerts(r: Receiver, kind: str) -> list[dict[str, object]]:
    return [a for a in reads.alerts(r.store.db) if a["kind"] == kind]


def test_events_heartbeats_and_a_clip_are_stored_once(
    receiver: Receiver, pub: Publisher, tmp_path: Path
) -> None:
    """Events (each sent twice), a heartbeat and a clip sent out of order with a duplicate
    chunk: every event stored once, the clip reassembled to the manifest's sha256."""
    a = SimNode("semarang", "gudang-01")
    enrol(receiver.store, a)
    events = [a.event("person", n=i) for i in range(20)]
    for w in events + events:
        pub.publish(a, w)
    pub.publish(a, a.heartbeat())
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(hashlib.sha256(b"seed").digest() * 10_000)
    wires = a.clip(clip, chunk_size=50_000)
    for w in [wires[3], wires[0], *wires[1:], wires[5]]:
        pub.publish(a, w)
    assert pub.wait_acked()
    s = receiver.store
    assert wait_until(lambda: count(s, "events") == 20, 10)
    assert wait_until(lambda: s.db.query("SELECT state FROM clips") == [("complete",)], 10)
    path = Path(s.db.query("SELECT path FROM clips")[0][0])
    assert path.read_bytes() == clip.read_bytes()
    assert json.loads(path.with_suffix(".json").read_text())["manifest"]["size"] == 320_000
    assert count(s, "chunks") == 0  # assembled: the parts are gone
    board = reads.nodes(s.db)
    assert board[0]["node"] == "gudang-01" and board[0]["state"] == "online"
    assert count(s, "quarantine") == 0


def test_forged_replayed_and_unenrolled_messages_are_quarantined_and_alerted(
    receiver: Receiver, pub: Publisher
) -> None:
    """A forged event, a replay with changed content and an unenrolled node's message are
    each kept in quarantine with the reason and raise forged_message; the real event stays."""
    a, stranger = SimNode("semarang", "gudang-01"), SimNode("solo", "gudang-66")
    forger = SimNode("semarang", "gudang-01")
    enrol(receiver.store, a)
    topic, payload, props = a.event("person")
    pub.publish(a, (topic, payload, props))
    assert wait_until(lambda: count(receiver.store, "events") == 1, 10)
    body = json.loads(payload)
    body["data"] = {"changed": True}
    replay = forger.event("person")  # signed by another key: rejected before the replay check
    pub.publish(a, replay)
    # a true replay: the node's own key over changed content with the same id
    from edge.evidence.signing import SignedFields, message_properties, payload_sha256

    changed = json.dumps(body).encode()
    sig = message_properties(
        SignedFields(a.site, a.node, topic, body["id"], payload_sha256(changed)), a.key
    )
    pub.publish(a, (topic, changed, (("id", body["id"]), *sig)))
    pub.publish(stranger, stranger.event("person"))
    assert pub.wait_acked()
    q = receiver.store
    assert wait_until(lambda: count(q, "quarantine") == 3, 10)
    reasons = sorted(r["reason"] for r in reads.quarantine(q.db))
    assert reasons == ["replay", "unknown_key", "unknown_node"]
    assert wait_until(lambda: len(_alerts(receiver, "forged_message")) == 3, 5)
    assert count(q, "events") == 1
    stored = json.loads(q.db.query("SELECT payload FROM events")[0][0])
    assert stored["data"] == {}


def test_a_clip_whose_chunks_stop_is_incomplete_then_completes(
    receiver: Receiver, pub: Publisher, tmp_path: Path
) -> None:
    """Half a clip: reported incomplete after the timeout, never complete; the rest
    arrives (a resumed upload): complete, and the alert clears."""
    a = SimNode("semarang", "gudang-02")
    enrol(receiver.store, a)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(bytes(range(200)) * 1000)
    wires = a.clip(clip, chunk_size=40_000)
    for w in wires[:3]:
        pub.publish(a, w)
    s = receiver.store

    def state() -> str:
        rows = s.db.query("SELECT state FROM clips")
        return str(rows[0][0]) if rows else ""

    assert wait_until(lambda: state() == "incomplete", 15)
    assert len(_alerts(receiver, "clip_incomplete")) == 1
    for w in wires[3:]:
        pub.publish(a, w)
    assert wait_until(lambda: state() == "complete", 10)
    assert _alerts(receiver, "clip_incomplete") == []
