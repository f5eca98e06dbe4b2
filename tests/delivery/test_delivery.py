"""Delivery against real mosquitto brokers: nothing accepted is lost when the broker goes away
or the node is killed; TLS and packet-size failures are named; policy decides who gets what."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.core.ids import new_id
from edge.delivery.chunks import clip_messages
from edge.delivery.message import OutboxMessage, Priority
from edge.delivery.mqtt import MqttLink
from edge.delivery.outbox import Outbox
from edge.delivery.subscriber import Received, Subscriber
from edge.demo.broker import LocalBroker, free_port
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import build_manifest, sign_manifest
from edge.node.replay import drain, flush_clips, wait_cameras

ROOT = Path(__file__).resolve().parents[2]


def _dest(broker: LocalBroker, ca_path: Path, cert: CertPair, **kw: Any) -> DestinationConfig:
    return DestinationConfig(
        name=kw.pop("name", "police"),
        host="localhost",
        port=broker.tls_port,
        tls=TlsConfig(ca=str(ca_path), cert=str(cert.cert), key=str(cert.key)),
        **kw,
    )


def _event(i: int, prio: Priority = Priority.EVENT) -> OutboxMessage:
    body = json.dumps({"seq": i, "kind": "person"}).encode()
    return OutboxMessage(f"ev-{i:05d}", prio, "person", "events", body, time.time())


def _clip(
    tmp: Path, key: NodeKey, n: int, size: int = 900_000
) -> tuple[list[OutboxMessage], bytes]:
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


def _reassemble(msgs: list[Received], clip_id: str) -> bytes:
    chunks: dict[int, bytes] = {}
    for m in msgs:
        parts = m.topic.split("/")
        if len(parts) >= 2 and parts[-2] == clip_id and parts[-1].isdigit():
            chunks[int(parts[-1])] = m.payload
    return b"".join(chunks[i] for i in sorted(chunks))


def _check_order_and_dupes(msgs: list[Received]) -> list[int]:
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


@pytest.mark.slow
def test_broker_down_30s_mid_stream_loses_nothing(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, police_cert: CertPair
) -> None:
    """1,000 events and 3 clips; the broker is stopped for 30 s in the middle and restarted:
    every event and every clip arrives, events in order, duplicates only with the same id."""
    broker = LocalBroker(tmp_path / "broker", ca, persistence=True)
    broker.start()
    police = Subscriber(
        broker.tls_port, str(ca.ca_path), police_cert, client_id="outage-watch", persistent=True
    )
    police.start()
    outbox = Outbox(tmp_path / "outbox.sqlite")
    link = MqttLink(_dest(broker, ca.ca_path, node_cert), NodeConfig(id="n", site="s"), outbox)
    link.start()
    key = NodeKey(tmp_path / "k.pem")
    clips = {}
    try:
        assert link.wait_connected(10)
        for i in range(1000):
            outbox.put(_event(i), ["police"])
            link.wake()
            if i in (150, 450, 800):
                messages, data = _clip(tmp_path, key, i)
                outbox.put_many(messages, ["police"])
                clips[f"clip-{i}"] = data
            if i == 300:
                broker.stop()  # the link is down from here ...
                down = time.monotonic()
            if i == 600:
                time.sleep(max(0.0, 30 - (time.monotonic() - down)))
                broker.start()  # ... for 30 s
            time.sleep(0.01)
        deadline = time.monotonic() + 120
        while outbox.total() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert outbox.total() == 0, outbox.depth()
        assert police.wait_for(lambda m: len(set(_check_order_and_dupes(m))) >= 1000, 30)
    finally:
        link.shutdown()
        police.stop()
        broker.stop()
    order = _check_order_and_dupes(police.messages)
    assert order == list(range(1000))  # all of them, first arrivals in order
    for clip_id, data in clips.items():
        assert (
            hashlib.sha256(_reassemble(police.messages, clip_id)).digest()
            == hashlib.sha256(data).digest()
        )
        assert any(m.topic.endswith(f"{clip_id}/manifest") for m in police.messages)
    assert link.stats.connects >= 2


@pytest.mark.slow
def test_killed_20_times_loses_no_accepted_event(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, police_cert: CertPair
) -> None:
    """The node is killed with SIGKILL 20 times at random moments while it accepts events and
    clips, and restarted each time: every event it accepted reaches the broker, and the
    outbox passes PRAGMA integrity_check after every kill."""
    broker = LocalBroker(tmp_path / "broker", ca, persistence=True)
    broker.start()
    police = Subscriber(
        broker.tls_port, str(ca.ca_path), police_cert, client_id="kill-watch", persistent=True
    )
    police.start()
    cfg = tmp_path / "node.toml"
    cfg.write_text(f"""
[node]
id = "k"
site = "s"
data_dir = "{tmp_path / "data"}"
[logging]
format = "json"
level = "warning"
[[destinations]]
name = "police"
host = "localhost"
port = {broker.tls_port}
tls = {{ ca = "{ca.ca_path}", cert = "{node_cert.cert}", key = "{node_cert.key}" }}
""")
    accepted = tmp_path / "accepted.log"
    rng = random.Random(20261128)
    cmd = [sys.executable, str(ROOT / "tests" / "node" / "kill_target.py"), str(cfg), str(accepted)]
    try:
        for _ in range(20):
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"  # accepting from now on
            time.sleep(rng.uniform(0.05, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            db = sqlite3.connect(tmp_path / "data" / "outbox.sqlite")
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()
        final = subprocess.Popen(
            [*cmd, "--drain"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()[-2000:]
        ids = set(accepted.read_text().split())
        assert len(ids) > 200
        assert police.wait_for(
            lambda m: (
                ids <= {json.loads(x.payload)["id"] for x in m if x.topic.endswith("/events")}
            ),
            30,
        )
    finally:
        police.stop()
        broker.stop()


def _link_error(tmp_path: Path, dest: DestinationConfig, wait: float = 15.0) -> tuple[str, Outbox]:
    outbox = Outbox(tmp_path / f"o-{new_id()}.sqlite")
    outbox.put(_event(1, Priority.ALARM), [dest.name])
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not link.stats.last_error:
        time.sleep(0.1)
    link.shutdown()
    assert not link.connected or link.stats.last_error
    return link.stats.last_error or "", outbox


def test_wrong_ca_is_named(tmp_path: Path, broker: LocalBroker, node_cert: CertPair) -> None:
    """A site CA that did not sign the broker: 'not trusted by the configured CA'; the
    alarm stays queued."""
    other = DemoCA(tmp_path / "other", name="some other CA")
    error, outbox = _link_error(tmp_path, _dest(broker, other.ca_path, node_cert))
    assert "broker certificate not trusted by the configured CA" in error
    assert outbox.total() == 1


def test_unknown_client_certificate_is_named(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """A client certificate from a CA the broker does not trust is reported as rejected."""
    stranger = DemoCA(tmp_path / "stranger", name="stranger CA").issue("intruder")
    error, outbox = _link_error(tmp_path, _dest(broker, ca.ca_path, stranger))
    assert "client certificate" in error and "reject" in error, error
    assert outbox.total() == 1


def test_expired_client_certificate_is_named(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """An expired client certificate is reported as such (or as rejected), never silently."""
    import datetime as dt

    old = ca.issue(
        "expired-node", valid_days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    )
    error, outbox = _link_error(tmp_path, _dest(broker, ca.ca_path, old))
    assert "client certificate" in error and ("expired" in error or "reject" in error), error
    assert outbox.total() == 1


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_broker_packet_limit_below_chunk_size(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, protocol: str
) -> None:
    """A broker that accepts at most 64 KiB packets and 256 KiB chunks: the error says so and
    names the setting; the chunks stay queued and events still get through."""
    broker = LocalBroker(tmp_path / "small", ca, max_packet_size=65536)
    broker.start()
    try:
        outbox = Outbox(tmp_path / "o.sqlite")
        messages, _ = _clip(tmp_path, NodeKey(tmp_path / "k.pem"), 1, size=600_000)
        outbox.put_many(messages, ["police"])
        link = MqttLink(
            _dest(broker, ca.ca_path, node_cert, protocol=protocol),
            NodeConfig(id="n", site="s"),
            outbox,
        )
        link.start()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "chunk_size" not in (link.stats.delivery_error or ""):
            time.sleep(0.2)
        outbox.put(_event(7), ["police"])
        link.wake()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and outbox.total() > len(messages) - 1:
            time.sleep(0.1)
        link.shutdown()
        error = link.stats.delivery_error or ""
        assert "chunk_size" in error and ("65536" in error or "packet size" in error), error
        assert outbox.pending("police", 100)  # chunks kept, not lost
        assert outbox.total() == len(messages) - 1  # only the small manifest and the event left
    finally:
        broker.stop()


def test_insecure_link_needs_the_flag_and_warns(
    tmp_path: Path, broker: LocalBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain connection works only with allow_insecure = true, and warns at start."""
    from edge.core import logs

    logs.configure("info", "json")
    dest = DestinationConfig(
        name="lab", host="127.0.0.1", port=broker.plain_port, allow_insecure=True
    )
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(_event(1), ["lab"])
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    deadline = time.monotonic() + 10
    while outbox.total() and time.monotonic() < deadline:
        time.sleep(0.05)
    link.shutdown()
    assert outbox.total() == 0
    assert '"event": "mqtt.insecure"' in capsys.readouterr().err


def test_connection_refused_is_named(tmp_path: Path, ca: DemoCA, node_cert: CertPair) -> None:
    """Nothing listening: 'connection refused'."""
    dead = LocalBroker(tmp_path / "dead", ca)
    dead.tls_port = free_port()
    error, outbox = _link_error(tmp_path, _dest(dead, ca.ca_path, node_cert), wait=5)
    assert "connection refused" in error and outbox.total() == 1


def test_alarms_overtake_clip_chunks(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, police_cert: CertPair
) -> None:
    """With a 20 MB clip queued first and a 2 MB/s cap, an alarm queued after it arrives long
    before the clip is through."""
    police = Subscriber(
        broker.tls_port,
        str(ca.ca_path),
        police_cert,
        client_id="overtake",
        topic="warehouse/s/ovt/#",
    )
    police.start()
    outbox = Outbox(tmp_path / "o.sqlite")
    messages, _ = _clip(tmp_path, NodeKey(tmp_path / "k.pem"), 2, size=20 * 1024 * 1024)
    outbox.put_many(messages, ["police"])
    link = MqttLink(
        _dest(broker, ca.ca_path, node_cert, bandwidth_bps=2_000_000),
        NodeConfig(id="ovt", site="s"),
        outbox,
    )
    link.start()
    try:
        assert link.wait_connected(10)
        time.sleep(1.0)
        outbox.put(_event(1, Priority.ALARM), ["police"])
        link.wake()
        t0 = time.monotonic()
        assert police.wait_for(lambda m: any(x.topic.endswith("/events") for x in m), 10)
        alarm_after = time.monotonic() - t0
        chunks_before = sum(1 for x in police.messages if x.topic.split("/")[-1].isdigit())
    finally:
        link.shutdown()
        police.stop()
    assert alarm_after < 1.5
    assert chunks_before < len(messages) / 2  # the clip was far from done


def test_policy_keeps_excluded_messages_from_a_destination(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    police_cert: CertPair,
) -> None:
    """The police get alarm kinds and the shared camera's clips; the operator everything.
    What the police may not have never reaches their topics; the audit says who got what."""
    from edge.config.loader import loads
    from edge.events.model import Kind, Severity, State
    from edge.node.node import Node

    cfg = loads(f"""
[node]
id = "p1"
site = "s"
data_dir = "{tmp_path / "data"}"
[[cameras]]
name = "hall"
detect = {{ kind = "file", path = "{tmp_path / "none.mp4"}" }}
[[cameras]]
name = "office-corridor"
detect = {{ kind = "file", path = "{tmp_path / "none.mp4"}" }}
[[destinations]]
name = "police"
host = "localhost"
port = {broker.tls_port}
topic_prefix = "police"
tls = {{ ca = "{ca.ca_path}", cert = "{node_cert.cert}", key = "{node_cert.key}" }}
kinds = ["person", "door_open", "smoke", "clip"]
cameras = ["hall"]
[[destinations]]
name = "operator"
host = "localhost"
port = {broker.tls_port}
topic_prefix = "operator"
tls = {{ ca = "{ca.ca_path}", cert = "{node_cert.cert}", key = "{node_cert.key}" }}
""")
    watch = Subscriber(
        broker.tls_port, str(ca.ca_path), police_cert, client_id="policy", topic="+/s/p1/#"
    )
    watch.start()
    node = Node(cfg)
    node.start()
    try:
        f = node.factory
        for kind, cam, sev in [
            (Kind.PERSON, "hall", Severity.WARNING),
            (Kind.PERSON, "office-corridor", Severity.WARNING),
            (Kind.MOTION, "hall", Severity.INFO),
            (Kind.CAMERA_FAULT, "hall", Severity.ALARM),
        ]:
            node.accept(f.make(kind, sev, State.START, new_id(), camera=cam))
        for n, cam in ((1, "hall"), (2, "office-corridor")):
            path = node.store.path_for(f"c{n}.mp4")
            path.write_bytes(os.urandom(300_000))
            manifest = build_manifest(
                clip_id=f"clip-{cam}",
                path=path,
                node="p1",
                site="s",
                camera=cam,
                start=0,
                end=1,
                duration_s=1,
                event_ids=[],
                mask_hash=None,
                method="remux",
            )
            node.delivery.clip(sign_manifest(manifest, node.key), path)
        node.heartbeat()
        assert drain(node, 20)
        time.sleep(0.5)
    finally:
        node.stop()
        watch.stop()
    got: dict[str, list[Received]] = defaultdict(list)
    for m in watch.messages:
        got[m.topic.split("/")[0]].append(m)

    def unique(msgs: list[Received]) -> list[dict[str, Any]]:  # at least once: drop dups by id
        by_id = {m.json()["id"]: m.json() for m in msgs if m.topic.endswith("/events")}
        return sorted(by_id.values(), key=lambda e: str(e["id"]))

    police_events = unique(got["police"])
    assert [(e["kind"], e["camera"]) for e in police_events] == [("person", "hall")]
    police_clips = {m.topic.split("/")[4] for m in got["police"] if "/clips/" in m.topic}
    assert police_clips == {"clip-hall"}
    assert not any(m.topic.endswith(("/health",)) for m in got["police"])
    op_events = unique(got["operator"])
    assert len(op_events) == 4
    assert {m.topic.split("/")[4] for m in got["operator"] if "/clips/" in m.topic} == {
        "clip-hall",
        "clip-office-corridor",
    }
    assert any(m.topic.endswith("/health") for m in got["operator"])
    audit = [json.loads(x) for x in cfg.audit_path.read_text().splitlines()]
    shared_police = {r["id"] for r in audit if r["destination"] == "police"}
    assert not any("office-corridor" in i for i in shared_police)
    assert len([r for r in audit if r["destination"] == "operator"]) > len(shared_police)


def test_heartbeat_reports_health(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, police_cert: CertPair
) -> None:
    """The heartbeat carries uptime, queue depth per class, evictions, disk free, clock sync,
    link state and the audit head; it is retained for late subscribers."""
    from edge.config.loader import loads
    from edge.node.node import Node

    cfg = loads(f"""
[node]
id = "hb"
site = "s"
data_dir = "{tmp_path / "data"}"
[health]
interval_s = 5
[[destinations]]
name = "operator"
host = "localhost"
port = {broker.tls_port}
tls = {{ ca = "{ca.ca_path}", cert = "{node_cert.cert}", key = "{node_cert.key}" }}
""")
    node = Node(cfg)
    node.start()
    try:
        assert node.links[0].wait_connected(10)
        deadline = time.monotonic() + 10
        while node.outbox.total() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert drain(node, 10)
    finally:
        node.stop()
    late = Subscriber(
        broker.tls_port,
        str(ca.ca_path),
        police_cert,
        client_id="late",
        topic="warehouse/s/hb/health",
    )
    late.start()
    assert late.wait_for(bool, 5)
    late.stop()
    health = late.messages[0].json()
    assert late.messages[0].retain
    import jsonschema

    schema = json.loads((ROOT / "edge" / "schemas" / "health.schema.json").read_text())
    jsonschema.validate(health, schema)
    for key in (
        "uptime_s",
        "queue",
        "outbox_counters",
        "disk_free_bytes",
        "clock_synced",
        "links",
        "audit_head",
        "cameras",
        "cpu_temp_c",
        "version",
    ):
        assert key in health, key
    assert health["links"]["operator"]["connected"] is True
    assert len(health["audit_head"]) == 64


def test_docs_name_every_topic_and_schema() -> None:
    """docs/mqtt.md documents each topic the code publishes and each schema file exists."""
    from edge.delivery import topics

    doc = (ROOT / "docs" / "mqtt.md").read_text()
    for topic in (
        topics.STATUS,
        topics.EVENTS,
        topics.HEALTH,
        "clips/CLIP_ID/manifest",
        "clips/CLIP_ID/N",
        "snapshots/SNAPSHOT_ID",
    ):
        assert f".../{topic}`" in doc, topic
    for schema in ("event", "clip-manifest", "health"):
        path = ROOT / "edge" / "schemas" / f"{schema}.schema.json"
        assert f"edge/schemas/{schema}.schema.json" in doc
        json.loads(path.read_text())


@pytest.mark.slow
def test_private_pattern_reaches_no_broker(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    police_cert: CertPair,
) -> None:
    """A masked camera whose clip is triggered by a door: every chunk the broker delivers,
    reassembled and decoded, and every image payload, is free of the planted pattern."""
    import av
    import cv2
    import numpy as np
    import synth

    from edge.config.loader import loads
    from edge.node.node import Node

    video = synth.write_video(tmp_path / "s.mp4", frames=80)
    cfg = loads(f"""
[node]
id = "pp"
site = "s"
data_dir = "{tmp_path / "data"}"
[gpio]
factory = "mock"
[[cameras]]
name = "hall"
fps = 5
detect = {{ kind = "file", path = "{video}" }}
{synth.MASK_TOML}
[[sensors]]
name = "door"
kind = "door"
pin = 22
cameras = ["hall"]
[clips]
pre_roll_s = 1
post_roll_s = 1
[[destinations]]
name = "police"
host = "localhost"
port = {broker.tls_port}
tls = {{ ca = "{ca.ca_path}", cert = "{node_cert.cert}", key = "{node_cert.key}" }}
""")
    watch = Subscriber(
        broker.tls_port, str(ca.ca_path), police_cert, client_id="pattern", topic="warehouse/s/pp/#"
    )
    watch.start()
    node = Node(cfg)
    pin = node.pin_factory.pin(22)
    pin.drive_low()
    node.start()
    try:
        while node.cameras[0].frames_analysed < 5:
            time.sleep(0.01)
        pin.drive_high()  # the door opens: a clip on the linked camera
        while node.cameras[0].frames_analysed < 20 and not node.cameras[0].join(0.01):
            time.sleep(0.01)
        pin.drive_low()
        assert wait_cameras(node, 60)
        assert flush_clips(node, 30) and drain(node, 30)
        time.sleep(0.5)
    finally:
        node.stop()
        watch.stop()
    manifests = [m.json() for m in watch.messages if m.topic.endswith("/manifest")]
    assert manifests and all(m["manifest"]["method"] == "encode" for m in manifests)
    for env in manifests:
        clip_id = env["manifest"]["clip_id"]
        data = _reassemble(watch.messages, clip_id)
        assert hashlib.sha256(data).hexdigest() == env["manifest"]["sha256"]
        path = tmp_path / f"{clip_id}.mp4"
        path.write_bytes(data)
        with av.open(str(path)) as c:
            frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        assert frames and all(synth.match_score(np.asarray(f, np.uint8)) < 0.5 for f in frames)
    for m in watch.messages:
        if m.payload[:2] == b"\xff\xd8":  # any JPEG
            img = cv2.imdecode(np.frombuffer(m.payload, np.uint8), cv2.IMREAD_COLOR)
            assert synth.match_score(np.asarray(img, np.uint8)) < 0.5
