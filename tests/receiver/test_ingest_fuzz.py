"""Generated hostility through the real ingest path (issue 20, "Must show"): Hypothesis makes
topics, payloads and user properties (any Unicode with surrogates and NUL, UTF-16/32 JSON,
huge, deep, wrong types; some signed with the enrolled key so they reach the store) and
publishes them through a real mosquitto to a real receiver, on SQLite and PostgreSQL; what
MQTT cannot carry goes through the receiver's own checker and committer. After every batch
the receiver is alive and a valid signed event sent next is stored within 2 s; the same
after a restart, when the persistent session hands over what was sent while it was down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from poison import assert_still_stores, config, publish_raw, start
from rx import enrol, publisher
from wirefuzz import Message, messages, travels

from edge.bench.fleet import Publisher, SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig
from edge.receiver.ingest import Arrival
from edge.receiver.service import Receiver

pytestmark = pytest.mark.faults

NODE = SimNode("semarang", "gudang-01")
PREFIX = "fz"


@pytest.fixture(params=["sqlite", "postgresql"])
def cfg(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, request: pytest.FixtureRequest
) -> ReceiverConfig:
    """A receiver config on each engine under the prefix of this test."""
    store = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    return config(tmp_path, broker, ca, f"{PREFIX}-{request.param}", store)


@pytest.fixture
def pub(broker: LocalBroker, ca: DemoCA, cfg: ReceiverConfig) -> Iterator[Publisher]:
    """A publisher under the receiver's prefix."""
    p = publisher(broker, ca, cfg.broker.topic_prefix)
    yield p
    p.close()


@pytest.fixture
def rx(cfg: ReceiverConfig) -> Iterator[Receiver]:
    """The running receiver, NODE enrolled."""
    r = start(cfg)
    enrol(r.store, NODE)
    yield r
    r.stop()


def _direct(r: Receiver, m: Message) -> None:
    """Through the receiver's checker and committer, as the writer would (for what MQTT
    cannot carry): never raises, and the verdict is stored or quarantined."""
    arrival = Arrival(r.ingest.connection, 0, 0, m.topic, m.payload, dict(m.props))
    verdict = r._judge(arrival)
    assert r.committer.commit([verdict]) is not None


def test_generated_hostility_never_stops_the_receiver(
    rx: Receiver, pub: Publisher, cfg: ReceiverConfig
) -> None:
    """Up to 100 batches of up to 5 generated messages each; after each batch a valid event
    is stored within 2 s and no thread died. Then the receiver is stopped, everything that
    travelled is sent again into its session, and restarted: the next valid event is stored
    within 2 s, and a third start finds nothing left unacknowledged."""
    prefix = cfg.broker.topic_prefix
    travelled: list[Message] = []
    started = time.monotonic()

    @settings(max_examples=100, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example,
                                     HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(st.lists(messages(NODE, prefix), min_size=1, max_size=5))
    def batch(items: list[Message]) -> None:
        infos = []
        for m in items:
            if travels(m, prefix):
                travelled.append(m)
                infos.append(_publish(pub, m))
            else:
                _direct(rx, m)
        for info in infos:
            info.wait_for_publish(10)
        assert_still_stores(rx, pub, NODE)

    batch()
    print(f"\n{len(travelled)} messages travelled, {time.monotonic() - started:.1f} s")
    assert len(travelled) >= 50  # most of what is generated can travel
    rx.stop()
    for m in travelled[-80:]:
        publish_raw(pub, m.topic, m.payload, list(m.props))  # queued in its session
    again = start(rx.cfg)
    try:
        assert_still_stores(again, pub, NODE)
    finally:
        again.stop()
    third = start(rx.cfg)
    try:
        before = third.store.db.query("SELECT COUNT(*) FROM quarantine")[0][0]
        assert_still_stores(third, pub, NODE)
        after = third.store.db.query("SELECT COUNT(*) FROM quarantine")[0][0]
        assert after == before, "something sent before the restart came back"
    finally:
        third.stop()


def _publish(pub: Publisher, m: Message) -> mqtt.MQTTMessageInfo:
    """Publish *m* (QoS 1) without waiting."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if m.props:
        props.UserProperty = list(m.props)
    return pub.client.publish(m.topic, m.payload, qos=1, properties=props)
