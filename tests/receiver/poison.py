"""Helpers of the poison tests: a receiver on either engine under a test's own prefix,
messages signed by an enrolled node whatever their payload, raw publishes of what the
simulated publisher would not send, and the check that the receiver still stores."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rx import receiver_config
from timing import wait_until

from edge.bench.fleet import Publisher, SimNode, Wire
from edge.core.ids import new_id
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig
from edge.receiver.service import Receiver
from edge.wire import topics

STORED_WITHIN_S = 2.0
"""A valid signed event sent after poison is stored within this (the issue's bound)."""


def config(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, prefix: str, store: str
) -> ReceiverConfig:
    """A receiver config on *store* ("sqlite" or a PostgreSQL URL) with a client id of its
    own (the persistent session survives a restart of the receiver)."""
    name = "p" + "".join(c for c in tmp_path.name.lower() if c.isalnum())[-30:]
    return receiver_config(tmp_path / "rx", broker, ca, name=name, store=store, prefix=prefix)


def start(cfg: ReceiverConfig) -> Receiver:
    """A started receiver, subscribed."""
    r = Receiver(cfg)
    r.start()
    assert r.ingest.subscribed.wait(15), "the receiver did not subscribe"
    return r


def event_body(node: SimNode, **fields: Any) -> dict[str, Any]:
    """An event as a node makes it, with *fields* changed."""
    event_id = new_id()
    body: dict[str, Any] = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": "person",
        "severity": "alarm", "state": "start", "occurrence": event_id, "incident": None,
        "node": node.node, "site": node.site,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "clock_synced": True,
        "camera": "gudang-1", "sensor": None, "zones": ["lorong"], "data": {},
    }  # fmt: skip
    body.update(fields)
    return body


def signed(node: SimNode, relative: str, payload: bytes, msg_id: str | None = None) -> Wire:
    """*payload* on *relative*, signed by *node*'s key (its signature holds: poison that
    passes every signature check, the dangerous kind)."""
    return node._wire(relative, msg_id or new_id(), payload)


def signed_event(node: SimNode, payload: bytes, event_id: str) -> Wire:
    """An event payload signed as event *event_id*."""
    return signed(node, topics.EVENTS, payload, event_id)


def publish_raw(
    pub: Publisher, topic: str, payload: bytes, props: list[tuple[str, str | bytes]] | None = None
) -> mqtt.MQTTMessageInfo:
    """Publish exactly this (QoS 1) on the publisher's connection; user property values
    may be raw bytes (paho sends them as they are)."""
    p = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if props:
        p.UserProperty = props
    info = pub.client.publish(topic, payload, qos=1, properties=p)
    info.wait_for_publish(10)
    return info


def stored(r: Receiver, event_id: str) -> bool:
    """Is event *event_id* in the receiver's store?"""
    return bool(r.store.db.query("SELECT 1 FROM events WHERE id = ?", (event_id,)))


def assert_still_stores(r: Receiver, pub: Publisher, node: SimNode) -> None:
    """A valid signed event of *node* is stored within :data:`STORED_WITHIN_S`."""
    wire = node.event("person")
    event_id = json.loads(wire[1])["id"]
    sent = time.monotonic()
    pub.publish(node, wire)
    ok = wait_until(lambda: stored(r, event_id), STORED_WITHIN_S + 1)
    took = time.monotonic() - sent
    assert ok and took <= STORED_WITHIN_S, f"event stored: {ok}, after {took:.2f} s"
    assert not r.dead(), r.dead()


def quarantined(r: Receiver) -> list[tuple[str, str]]:
    """(reason, detail) of every quarantined message, oldest first."""
    rows = r.store.db.query("SELECT reason, detail FROM quarantine ORDER BY seq")
    return [(str(a), str(b)) for a, b in rows]
