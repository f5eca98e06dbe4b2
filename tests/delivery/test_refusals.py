"""Messages the broker refuses (MQTT 5 PUBACK reason codes from 0x80, e.g. 0x87 Not
authorized from a mosquitto ACL): kept, retried with backoff on the same connection, in
their place in their class, counted and reported until they go through; 0x10 No matching
subscribers is a delivery, counted; MQTT 3.1.1 cannot refuse, so a denied message is
acknowledged and lost, which the config makes the operator accept explicitly."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from conftest import Subscribe
from nodecfg import node_config, tls_destination
from pydantic import ValidationError
from timing import wait_until
from traffic import ROOT, check_order_and_dupes, event, tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link.linkstats import LinkStats
from edge.link.mqtt import MqttLink
from edge.link.refusals import Refusals
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults

NOT_AUTHORIZED = "Not authorized"


def acl(node: str, *, events: bool) -> str:
    """mosquitto ACL: the node (certificate CN test-node) may write its status and health,
    and its events only when *events*; the police (police-test) may read everything."""
    rules = ["user test-node", f"topic write warehouse/s/{node}/status"]
    rules.append(f"topic write warehouse/s/{node}/health")
    if events:
        rules.append(f"topic write warehouse/s/{node}/#")
    return "\n".join([*rules, "", "user police-test", "topic read warehouse/#", ""])


def heartbeat(i: int) -> OutboxMessage:
    """A heartbeat (class health) numbered *i*."""
    body = json.dumps({"hb": i}).encode()
    return OutboxMessage(f"hb-{i}", Priority.HEALTH, "node_health", "health", body, time.time())


@pytest.fixture
def acl_broker(tmp_path: Path, ca: DemoCA) -> Iterator[LocalBroker]:
    """A mosquitto of its own whose ACL denies node ``n`` its events topic."""
    b = LocalBroker(tmp_path / "acl-broker", ca, acl=acl("n", events=False))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """The structured log events emitted during the test (every thread)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


# -- the refusal book, without a broker ------------------------------------------------------


def _book(tmp_path: Path, cap: float = 30.0) -> tuple[Outbox, Refusals, LinkStats]:
    outbox = Outbox(tmp_path / "o.sqlite")
    stats = LinkStats()
    book = Refusals("police", stats, lambda t: f"warehouse/s/n/{t}", retry_max_s=cap)
    return outbox, book, stats


def test_refused_head_holds_its_class_only(tmp_path: Path) -> None:
    """While the oldest alarm is refused, later alarms are not offered (even 500 of them,
    more than one query's worth) but events and heartbeats are; once the head goes
    through, the alarms come next, in sequence order."""
    outbox, book, _ = _book(tmp_path)
    outbox.put_many([event(i, Priority.ALARM) for i in range(500)], ["police"])
    outbox.put(event(900), ["police"])
    outbox.put(heartbeat(1), ["police"])
    head = outbox.pending("police", 1)[0]
    book.refused(head, 0x87, NOT_AUTHORIZED, now=0.0)
    offered = book.pending(outbox, "police", 4, skip=(), max_priority=None)
    assert [p.message.id for p in offered] == ["ev-00900", "hb-1"]
    assert book.blocked(Priority.ALARM) and not book.blocked(Priority.EVENT)
    book.accepted(head)
    outbox.ack("police", [head.seq])
    offered = book.pending(outbox, "police", 3, skip=(), max_priority=None)
    assert [p.message.id for p in offered] == ["ev-00001", "ev-00002", "ev-00003"]


def test_refused_message_behind_the_head_waits_for_it(tmp_path: Path) -> None:
    """Alarms 0..2 were in flight and all refused: only alarm 0 is tried again; 1 and 2
    stay out of the outbox queries until 0 went through."""
    outbox, book, stats = _book(tmp_path)
    outbox.put_many([event(i, Priority.ALARM) for i in range(3)], ["police"])
    sent = outbox.pending("police", 3)
    for p in reversed(sent):  # PUBACKs in any order: the oldest becomes the head
        book.refused(p, 0x87, NOT_AUTHORIZED, now=0.0)
    assert stats.refusals == {NOT_AUTHORIZED: 3} and stats.rejected == 3
    assert [p.message.id for p in book.due(1e9, busy=())] == ["ev-00000"]
    assert book.pending(outbox, "police", 10, skip=(), max_priority=None) == []


def test_retry_backoff_doubles_to_the_cap_with_jitter(tmp_path: Path) -> None:
    """A refused head is due again after 1 s, 2 s, 4 s ... up to the cap (here 8 s), each
    delay jittered into [d/2, d]; never earlier, and never while it is in flight."""
    outbox, _, stats = _book(tmp_path)
    book = Refusals("police", stats, str, retry_max_s=8.0, rng=random.Random(7))
    twin = random.Random(7)  # the same draws: the delays the book chose
    outbox.put(event(1, Priority.ALARM), ["police"])
    head = outbox.pending("police", 1)[0]
    now = 100.0
    delays = []
    for nominal in (1, 2, 4, 8, 8, 8):
        book.refused(head, 0x97, "Quota exceeded", now)
        delay = nominal / 2 + twin.uniform(0, nominal / 2)
        assert nominal / 2 <= delay <= nominal
        assert book.due(now + delay - 0.001, busy=()) == []
        assert book.due(now + delay, busy=[head.seq]) == []  # in flight: not twice
        assert book.due(now + delay, busy=()) == [head]
        delays.append(delay)
        now += delay
    assert delays[3] > delays[0] and max(delays) <= 8.0
    assert stats.refusals == {"Quota exceeded": 6}


def test_delivery_error_names_reason_and_topic_and_clears(tmp_path: Path) -> None:
    """The refusal sets delivery_error with the broker's reason, its code and the full
    topic; it is cleared when the head goes through, but a packet-size problem reported
    meanwhile is left alone."""
    outbox, book, stats = _book(tmp_path)
    outbox.put(event(1, Priority.ALARM), ["police"])
    head = outbox.pending("police", 1)[0]
    book.refused(head, 0x87, NOT_AUTHORIZED, now=0.0)
    error = stats.delivery_error or ""
    assert NOT_AUTHORIZED in error and "0x87" in error and "warehouse/s/n/events" in error
    book.accepted(head)
    assert stats.delivery_error is None
    book.refused(head, 0x87, NOT_AUTHORIZED, now=0.0)
    stats.delivery_error = "message X is over the broker's packet size limit"
    book.accepted(head)
    assert stats.delivery_error == "message X is over the broker's packet size limit"


# -- a real mosquitto with an ACL -------------------------------------------------------------


def test_acl_refusal_retried_in_order_without_reconnect(
    tmp_path: Path,
    acl_broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
    log_events: list[MutableMapping[str, Any]],
) -> None:
    """mosquitto denies the events topic (MQTT 5 PUBACK 0x87): no alarm is delivered, the
    refusals are counted by reason and named with the topic, only the oldest alarm is tried
    again (with backoff, on the same connection), a heartbeat still goes through; once the
    ACL allows it (SIGHUP), all eight alarms arrive in order, without a reconnect."""
    police = subscribe(broker=acl_broker)
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put_many([event(i, Priority.ALARM) for i in range(5)], ["police"])
    dest = tls_dest(acl_broker, ca.ca_path, node_cert)
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox, refusal_retry_max_s=2.0)
    link.start()
    try:
        assert link.wait_connected(10)
        assert wait_until(lambda: link.stats.refusals[NOT_AUTHORIZED] >= 5, 10)
        error = link.stats.delivery_error or ""
        assert NOT_AUTHORIZED in error and "warehouse/s/n/events" in error, error
        outbox.put_many([event(i, Priority.ALARM) for i in range(5, 8)], ["police"])
        outbox.put(heartbeat(1), ["police"])
        link.wake()
        assert police.wait_for(lambda m: any(x.topic.endswith("/health") for x in m), 10)
        # retried with backoff (1 s, then 2 s capped; jittered) on the one connection
        assert wait_until(lambda: link.stats.refusals[NOT_AUTHORIZED] >= 7, 10)
        assert police.events() == []
        assert outbox.depth()["police"] == {"alarm": 8}
        assert link.stats.connects == 1
        acl_broker.reload_acl(acl("n", events=True))
        # due again within the 2 s cap (+ the sender's 0.5 s tick): 15 s is ample
        assert wait_until(lambda: not outbox.depth().get("police"), 15)
        assert police.wait_for(lambda m: len(check_order_and_dupes(m)) >= 8, 10)
    finally:
        link.shutdown()
    assert check_order_and_dupes(police.messages) == list(range(8))
    assert link.stats.connects == 1
    assert link.stats.delivery_error is None
    refused = [e for e in log_events if e["event"] == "mqtt.publish_refused"]
    assert {e["id"] for e in refused[:5]} == {f"ev-{i:05d}" for i in range(5)}
    assert {e["id"] for e in refused[5:]} == {"ev-00000"}  # only the head, never 5..7
    assert all(e["reason"] == NOT_AUTHORIZED and e["code"] == "0x87" for e in refused)
    assert any(e["event"] == "mqtt.refusal_cleared" for e in log_events)


def test_refusal_shows_in_node_state_and_heartbeat(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """A node whose alarm the broker refuses is degraded (delivery_error:police); its
    heartbeat's link section counts the refusals by reason and the messages nobody
    subscribed to, and still matches the schema; healthy again once delivered."""
    import jsonschema

    from edge.config.loader import loads
    from edge.node.heartbeat import report
    from edge.node.node import Node

    broker = LocalBroker(tmp_path / "b", ca, acl=acl("hbr", events=False))
    broker.start()
    cfg = loads(
        node_config(
            tmp_path / "data",
            "hbr",
            destinations=[tls_destination(broker, ca, node_cert, name="police")],
        )
    )
    node = Node(cfg)
    node.start()
    schema = json.loads((ROOT / "edge" / "schemas" / "health.schema.json").read_text())
    try:
        link = node.links[0]
        assert link.wait_connected(10)
        node.outbox.put(event(1, Priority.ALARM), ["police"])
        link.wake()
        assert wait_until(lambda: link.stats.refusals[NOT_AUTHORIZED] >= 1, 10)
        state = node.state()
        assert str(state.status) == "degraded" and "delivery_error:police" in state.reasons
        health = report(node)
        jsonschema.validate(health, schema)
        links = health["links"]["police"]
        assert links["refusals"][NOT_AUTHORIZED] >= 1
        assert NOT_AUTHORIZED in links["delivery_error"]
        assert isinstance(links["no_subscribers"], int)
        broker.reload_acl(acl("hbr", events=True))
        assert wait_until(lambda: link.stats.delivery_error is None, 40)
        assert "delivery_error:police" not in node.state().reasons
        # nobody subscribes on this broker: the delivered alarm was counted as such
        assert report(node)["links"]["police"]["no_subscribers"] >= 1
    finally:
        node.stop()
        broker.stop()


def test_no_matching_subscribers_is_a_delivery(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """PUBACK 0x10 (nobody subscribes to the topic) means the broker took the message: it
    leaves the outbox, is counted in no_subscribers, and is no refusal."""
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put_many([event(i) for i in range(3)], ["police"])
    dest = tls_dest(broker, ca.ca_path, node_cert, topic_prefix="nobody-listens")
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    try:
        assert wait_until(lambda: outbox.total() == 0, 10)
    finally:
        link.shutdown()
    assert link.stats.acked == 3
    assert link.stats.no_subscribers == 3
    assert not link.stats.refusals and link.stats.delivery_error is None


# -- MQTT 3.1.1: refusals cannot be seen ------------------------------------------------------


def test_mqtt311_needs_accept_unconfirmed_delivery(
    broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """protocol = '3.1.1' without accept_unconfirmed_delivery is a config error that says
    why and names the flag."""
    with pytest.raises(ValidationError) as err:
        tls_dest(broker, ca.ca_path, node_cert, protocol="3.1.1")
    assert "accept_unconfirmed_delivery" in str(err.value)
    assert "refused" in str(err.value)


def test_mqtt311_acl_denial_is_acknowledged_and_lost(
    tmp_path: Path,
    acl_broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
    log_events: list[MutableMapping[str, Any]],
) -> None:
    """The documented limitation: over MQTT 3.1.1 mosquitto acknowledges a message its ACL
    denies and drops it. The link warns at start; the events are recorded as delivered
    (outbox empty, nothing refused) although the police never get them."""
    police = subscribe(broker=acl_broker)
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put_many([event(i) for i in range(3)], ["police"])
    outbox.put(heartbeat(1), ["police"])  # sent after the events, on an allowed topic
    dest = tls_dest(
        acl_broker, ca.ca_path, node_cert, protocol="3.1.1", accept_unconfirmed_delivery=True
    )
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    try:
        assert wait_until(lambda: outbox.total() == 0, 10)
        assert police.wait_for(lambda m: any(x.topic.endswith("/health") for x in m), 10)
    finally:
        link.shutdown()
    warned = [e for e in log_events if e["event"] == "mqtt.unconfirmed_delivery"]
    assert len(warned) == 1 and warned[0]["destination"] == "police"
    assert warned[0]["log_level"] == "warning"
    assert link.stats.acked == 4  # "delivered" ...
    assert police.events() == []  # ... but lost
    assert not link.stats.refusals and link.stats.delivery_error is None
