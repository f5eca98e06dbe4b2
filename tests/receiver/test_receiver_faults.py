"""The receiver's unhappy paths: its database goes away, its disk fills, hostile input
arrives. Nothing it received is acknowledged before it is stored, so nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import fill, small_disk
from pg import PgServer
from rx import count, enrol, publisher, receiver_config
from timing import wait_until

from edge.bench.fleet import Publisher, fleet
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.service import Receiver
from edge.receiver.store import reads

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture
def pub(broker: LocalBroker, ca: DemoCA, request: pytest.FixtureRequest) -> Iterator[Publisher]:
    """A publisher under this test's own prefix."""
    p = publisher(broker, ca, prefix=f"rxf-{request.node.name[-20:]}")
    yield p
    p.close()


def test_postgresql_killed_mid_stream_loses_nothing(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher
) -> None:
    """PostgreSQL is SIGKILLed while events arrive and started again: the receiver keeps
    retrying (acknowledging nothing meanwhile), reconnects, and stores every event once."""
    nodes = list(fleet(5))
    with PgServer() as pg:
        cfg = receiver_config(tmp_path / "rx", broker, ca, name="pgdown", store=pg.url,
                              prefix=pub.prefix)  # fmt: skip
        r = Receiver(cfg)
        enrol(r.store, *nodes)
        r.start()
        try:
            assert r.ingest.subscribed.wait(10)
            for i in range(100):
                pub.publish(nodes[i % 5], nodes[i % 5].event("person", seq=i))
            assert wait_until(lambda: r.committed >= 100, 15)
            pg.kill()
            for i in range(100, 200):
                pub.publish(nodes[i % 5], nodes[i % 5].event("person", seq=i))
            assert wait_until(lambda: r.store_failures > 0, 15)
            pg.start()
            assert wait_until(lambda: r.committed >= 200, 60)
            rows = r.store.db.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM events")[0]
            assert rows == (200, 200)
        finally:
            r.stop()


def test_a_full_disk_holds_the_acks_back_until_space_returns(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher
) -> None:
    """The SQLite store on a full tmpfs: commits fail, nothing is acknowledged, the broker
    keeps the events; once space is freed every event is stored."""
    nodes = list(fleet(3))
    with small_disk(tmp_path / "disk", "16m") as disk:
        cfg = receiver_config(disk / "rx", broker, ca, name="diskfull", prefix=pub.prefix)
        r = Receiver(cfg)
        enrol(r.store, *nodes)
        r.start()
        try:
            assert r.ingest.subscribed.wait(10)
            filler = fill(disk)
            for i in range(60):
                pub.publish(nodes[i % 3], nodes[i % 3].event("person", seq=i))
            assert wait_until(lambda: r.store_failures >= 2, 20)
            assert r.committed == 0
            filler.unlink()
            assert wait_until(lambda: r.committed >= 60, 60)
            assert count(r.store, "events") == 60
        finally:
            r.stop()


def test_hostile_payloads_are_quarantined_and_the_receiver_goes_on(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher
) -> None:
    """Garbage bytes, deep JSON, a 2 MB blob and a tampered clip chunk, all on an enrolled
    node's topics: each quarantined with a reason; a good event after them is stored."""
    node = next(iter(fleet(1)))
    cfg = receiver_config(tmp_path / "rx", broker, ca, name="hostile", prefix=pub.prefix)
    r = Receiver(cfg)
    enrol(r.store, node)
    r.start()
    try:
        assert r.ingest.subscribed.wait(10)
        topic, _, props = node.event("person")
        for junk in (b"\xff\xfe\x00garbage", b"[" * 100_000, b"x" * 2_000_000):
            pub.publish(node, (topic, junk, props))
        clip = tmp_path / "c.mp4"
        clip.write_bytes(bytes(range(256)) * 400)
        wires = node.clip(clip, chunk_size=50_000)
        c_topic, c_payload, c_props = wires[1]
        pub.publish(node, (c_topic, c_payload[:-1] + b"\x00", c_props))
        pub.publish(node, node.event("person"))
        assert wait_until(lambda: count(r.store, "events") == 1, 15)
        assert wait_until(lambda: count(r.store, "quarantine") == 4, 10)
        reasons = sorted(q["reason"] for q in reads.quarantine(r.store.db))
        assert reasons == ["bad_signature"] * 4
        forged = [a for a in reads.alerts(r.store.db) if a["kind"] == "forged_message"]
        assert [(a["ref"], a["times"]) for a in forged] == [("bad_signature", 4)]  # one source
    finally:
        r.stop()


def test_a_broker_restart_mid_stream_loses_nothing(tmp_path: Path, ca: DemoCA) -> None:
    """The police broker (persistent) restarts between two halves of a stream: the receiver
    reconnects to its kept session and stores every event once."""
    b = LocalBroker(tmp_path / "broker", ca, persistence=True, max_queued_messages=100_000)
    b.start()
    nodes = list(fleet(4))
    cfg = receiver_config(tmp_path / "rx", b, ca, name="brokerdown")
    r = Receiver(cfg)
    enrol(r.store, *nodes)
    r.start()
    pub = publisher(b, ca)
    try:
        assert r.ingest.subscribed.wait(10)
        for i in range(100):
            pub.publish(nodes[i % 4], nodes[i % 4].event("person", seq=i))
        assert pub.wait_acked()
        b.restart()
        assert wait_until(r.ingest.subscribed.is_set, 30)
        for i in range(100, 200):
            pub.publish(nodes[i % 4], nodes[i % 4].event("person", seq=i))
        assert pub.wait_acked(60)
        assert wait_until(lambda: count(r.store, "events") >= 200, 30)
        assert r.store.db.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM events")[0] == (200, 200)
    finally:
        r.stop()
        pub.close()
        b.stop()
