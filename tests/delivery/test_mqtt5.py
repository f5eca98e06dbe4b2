"""edge.wire.mqtt5: the typed MQTT 5 properties and client settings every paho user shares,
checked through a real mosquitto (what one client sets, another reads back)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from edge.core.ids import new_id
from edge.demo.broker import LocalBroker
from edge.wire import mqtt5

TIMEOUT_S = 10.0


def test_client_options_follow_the_protocol() -> None:
    """MQTT 5 leaves clean start to connect() (paho refuses a clean session with it);
    3.1.1 gets a clean session; callback API 2 either way, and paho accepts both."""
    v5 = mqtt5.client_options("a")
    v311 = mqtt5.client_options("b", mqtt5=False, manual_ack=True, reconnect_on_failure=False)
    assert v5["clean_session"] is None and v311["clean_session"] is True
    assert v5["protocol"] != v311["protocol"]
    assert v311["manual_ack"] and not v311["reconnect_on_failure"]
    assert v5["callback_api_version"] == v311["callback_api_version"]
    for options in (v5, v311):
        assert mqtt5.Client(**options).protocol == options["protocol"]


def test_nothing_announced_reads_as_no_limit() -> None:
    """No properties (MQTT 3.1.1) mean no user properties and no announced limits."""
    assert mqtt5.user_properties(None) == {}
    assert mqtt5.ServerLimits.of(None) == mqtt5.ServerLimits(None, None)
    empty = mqtt5.connect_properties()
    assert mqtt5.ServerLimits.of(empty) == mqtt5.ServerLimits(None, None)


@pytest.fixture
def listener(broker: LocalBroker) -> Iterator[tuple[str, queue.Queue[mqtt5.MQTTMessage]]]:
    """A client on the broker's plain port subscribed to a fresh topic: (topic, arrivals)."""
    topic = f"mqtt5test/{new_id()}"
    arrivals: queue.Queue[mqtt5.MQTTMessage] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt5.new_client(f"listen-{new_id()}", None)

    def connected(c: mqtt5.Client, *_: object) -> None:
        c.subscribe(topic, qos=1)

    client.on_connect = connected
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, msg: arrivals.put(msg)
    client.connect("127.0.0.1", broker.plain_port, keepalive=30)
    client.loop_start()
    try:
        assert subscribed.wait(TIMEOUT_S), "subscription not acknowledged"
        yield topic, arrivals
    finally:
        client.disconnect()
        client.loop_stop()


def test_properties_cross_a_real_broker(
    broker: LocalBroker, listener: tuple[str, queue.Queue[mqtt5.MQTTMessage]]
) -> None:
    """User properties and the message expiry set with publish_properties() arrive as
    sent; the CONNACK's limits read as numbers or None; a normal disconnection is reason 0."""
    topic, arrivals = listener
    limits: queue.Queue[mqtt5.ServerLimits] = queue.Queue()
    acked = threading.Event()
    client = mqtt5.new_client(f"send-{new_id()}", None, reconnect_on_failure=False)
    client.on_connect = lambda _c, _u, _f, _r, p: limits.put(mqtt5.ServerLimits.of(p))
    client.on_publish = lambda *_: acked.set()
    options = mqtt5.connect_properties(session_expiry_s=0, receive_maximum=10)
    client.connect("127.0.0.1", broker.plain_port, keepalive=30, properties=options)
    client.loop_start()
    try:
        said = limits.get(timeout=TIMEOUT_S)
        for value in (said.maximum_packet_size, said.receive_maximum):
            assert value is None or (isinstance(value, int) and value > 0)
        props = mqtt5.publish_properties([("id", "m-1"), ("kind", "person")], expiry_s=600)
        client.publish(topic, b"{}", qos=1, properties=props)
        assert acked.wait(TIMEOUT_S), "no PUBACK"
        msg = arrivals.get(timeout=TIMEOUT_S)
        assert mqtt5.user_properties(msg.properties) == {"id": "m-1", "kind": "person"}
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        assert expiry is not None and 0 < expiry <= 600
    finally:
        client.disconnect(mqtt5.normal_disconnection())
        client.loop_stop()
    assert mqtt5.normal_disconnection().value == 0
