"""One rule for what the outbox cannot store, heartbeats and alarms alike: sent from memory,
once, as soon as the link is up; an event keeps waiting to be stored (its stored copy goes
later, the receiver keeps one by id), a heartbeat is replaced by the next one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import Subscribe
from traffic import tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link.mqtt import MqttLink
from edge.outbox.memory import MAX_QUEUED, MemoryOffers
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


def _msg(mid: str, prio: Priority = Priority.EVENT, kind: str = "door_open") -> OutboxMessage:
    body = json.dumps({"id": mid, "kind": kind}).encode()
    topic = "health" if kind == "node_health" else "events"
    return OutboxMessage(mid, prio, kind, topic, body, time.time())


def test_offers_go_once_alarms_first_heartbeat_newest_only() -> None:
    """Queued offers leave alarms first; an id queued, on the wire or delivered is not
    queued again; a newer heartbeat replaces the older one; a copy whose connection dropped
    may be offered again; the queue is bounded and keeps alarms."""
    offers = MemoryOffers()
    assert offers.offer(_msg("door-1"))
    assert not offers.offer(_msg("door-1"))
    assert offers.offer(_msg("smoke-1", Priority.ALARM, "smoke"))
    assert offers.offer(_msg("hb-1", Priority.HEALTH, "node_health"))
    assert offers.offer(_msg("hb-2", Priority.HEALTH, "node_health"))
    taken = offers.take(10, generation=1)
    assert [m.id for m in taken] == ["smoke-1", "door-1", "hb-2"]
    assert not offers.offer(_msg("door-1"))  # on the wire
    offers.delivered("smoke-1")
    offers.connection_lost(1)
    assert not offers.offer(_msg("smoke-1", Priority.ALARM, "smoke"))  # the broker has it
    assert offers.offer(_msg("door-1"))  # its PUBACK never came: it may go again
    for n in range(MAX_QUEUED + 5):
        offers.offer(_msg(f"ev-{n}"))
    offers.offer(_msg("smoke-2", Priority.ALARM, "smoke"))
    assert len(offers) == MAX_QUEUED and offers.dropped == 7
    assert any(m.id == "smoke-2" for m in offers.take(MAX_QUEUED, generation=2))


def test_a_link_sends_from_memory_what_the_outbox_could_not_store(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """Offered to a running link, an alarm reaches the police at once without ever being in
    the outbox, and is not queued again from memory once it went."""
    police = subscribe("warehouse/s/mem/#", client_id="mem-watch")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    dest = tls_dest(broker, ca.ca_path, node_cert)
    link = MqttLink(dest, NodeConfig(id="mem", site="s"), outbox)
    link.start()
    try:
        assert link.wait_connected(10)
        at = time.monotonic()
        link.offer(_msg("smoke-1", Priority.ALARM, "smoke"))
        assert police.wait_for(lambda m: any(x.topic.endswith("/events") for x in m), 5)
        assert time.monotonic() - at < 2.0
        assert not link.memory.offer(_msg("smoke-1", Priority.ALARM, "smoke"))  # went already
        assert not len(link.memory)
        assert outbox.total() == 0 and link.stats.acked == 0  # no books: never stored
    finally:
        link.shutdown()
