"""Receivers killed mid-stream lose nothing and store nothing twice: the broker keeps the
persistent session's messages, and the receiver acknowledges only what it committed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from rx import count, enrol, publisher, receiver_toml
from rxproc import RxProcess, stream
from timing import wait_until

from edge.bench.fleet import fleet
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.store.store import ReceiverStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deep_broker(tmp_path_factory: pytest.TempPathFactory, ca: DemoCA) -> Iterator[LocalBroker]:
    """A broker whose sessions may queue a whole stream (mosquitto keeps 1000 by default)."""
    b = LocalBroker(tmp_path_factory.mktemp("deep"), ca, max_queued_messages=1_000_000,
                    max_inflight_messages=1000)  # fmt: skip
    b.start()
    yield b
    b.stop()


def test_five_sigkills_during_a_stream_store_every_event_exactly_once(
    tmp_path: Path, deep_broker: LocalBroker, ca: DemoCA
) -> None:
    """2,000 events from 20 nodes while the receiver is SIGKILLed 5 times (and restarted):
    all 2,000 stored, none twice, nothing quarantined."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", deep_broker, ca, name="crash"))
    store = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    nodes = list(fleet(20))
    enrol(store, *nodes)
    items = [(n, n.event("person", seq=i)) for i in range(100) for n in nodes]
    rx = RxProcess(conf, tmp_path / "receiver.log")
    pub = publisher(deep_broker, ca)
    rng = random.Random(7)
    try:
        rx.start()
        sender = stream(pub, items, rate=250)
        for _ in range(5):
            wait_until(lambda: False, rng.uniform(0.3, 0.9))  # let some commits happen
            rx.kill()
            rx.start()
        sender.join(60)
        assert pub.wait_acked()
        assert wait_until(lambda: count(store, "events") >= 2000, 90), rx.tail()
        rows = store.db.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM events")[0]
        assert rows == (2000, 2000)
        assert count(store, "quarantine") == 0
        assert rx.starts == 6
    finally:
        rx.stop()
        pub.close()
        store.close()


def test_three_receivers_in_a_shared_group_split_the_load_and_survive_a_kill(
    tmp_path: Path, deep_broker: LocalBroker, ca: DemoCA, pg_url: str
) -> None:
    """Three receivers in one shared-subscription group on one PostgreSQL: 10,000 events
    from 200 nodes are each stored exactly once, although one receiver is SIGKILLed
    mid-stream (and restarted, as systemd would: its session's messages are kept)."""
    store = ReceiverStore(pg_url, tmp_path / "rx")
    nodes = list(fleet(200))
    enrol(store, *nodes)
    rxs = []
    for i in range(3):
        conf = tmp_path / f"rx{i}.toml"
        conf.write_text(receiver_toml(tmp_path / f"rx{i}", deep_broker, ca, name=f"polda-{i}",
                                      store=pg_url, group="polda-jateng"))  # fmt: skip
        rxs.append(RxProcess(conf, tmp_path / f"rx{i}.log"))
    items = [(n, n.event("person", seq=i)) for i in range(50) for n in nodes]
    pub = publisher(deep_broker, ca)
    try:
        for rx in rxs:
            rx.start()
        sender = stream(pub, items, rate=800)
        wait_until(lambda: count(store, "events") >= 3000, 30)
        rxs[1].kill()
        wait_until(lambda: count(store, "events") >= 5000, 30)
        rxs[1].start()
        sender.join(60)
        assert pub.wait_acked()
        assert wait_until(lambda: count(store, "events") >= 10_000, 120), rxs[1].tail()
        rows = store.db.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM events")[0]
        assert rows == (10_000, 10_000)
        logs = [rx.tail() for rx in rxs]
        assert all("receiver.subscribed" in log for log in logs)
    finally:
        for rx in rxs:
            rx.stop()
        pub.close()
        store.close()
