"""A paho client set up the one way the link may use it, and what its failures mean."""

from __future__ import annotations

import json
import ssl
import time
from typing import TYPE_CHECKING

from edge import __version__
from edge.config.transport import DestinationConfig
from edge.outbox.message import OutboxMessage
from edge.wire import mqtt5
from edge.wire.mqtt5 import Client, ConnectOptions, Properties
from edge.wire.tls import explain

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike


def status_payload(state: str, connected: float) -> bytes:
    """The retained ``online``/``offline`` status the node publishes itself: ``time`` is
    when it says so, ``connected`` when its connection began (the same in this
    connection's will, so a receiver can order statuses); an ``offline`` is a clean stop."""
    body: dict[str, object] = {"state": state, "version": __version__, "time": time.time()}
    body["connected"] = connected
    if state == "offline":
        body["cause"] = "stopped"
    return json.dumps(body, separators=(",", ":")).encode()


def will_payload(connected: float, delay_s: int) -> bytes:
    """The last will: ``offline`` because the connection was lost. It is fixed when the
    connection begins, so it carries no ``time``: the receiver stamps its arrival, less
    ``will_delay_s`` (the broker waited that long before publishing it)."""
    body = {"state": "offline", "cause": "connection_lost", "version": __version__,
            "connected": connected, "will_delay_s": delay_s}  # fmt: skip
    return json.dumps(body, separators=(",", ":")).encode()


def set_will(client: Client, dest: DestinationConfig, topic: str, connected: float) -> None:
    """The retained ``offline`` last will on *topic*; over MQTT 5 delayed by
    ``dest.will_delay_s`` (a reconnect within it cancels the will: no false alarm for a
    short drop)."""
    delay = dest.will_delay_s if dest.protocol == "5" else 0
    props = mqtt5.will_properties(delay_s=delay) if delay else None
    payload = will_payload(connected, delay)
    client.will_set(topic, payload, qos=1, retain=True, properties=props)


def session_options(dest: DestinationConfig) -> ConnectOptions:
    """``connect()`` options: with a will delay the broker must keep the session that long
    (MQTT 5 publishes the will at the end of the delay or of the session, whichever comes
    first, and a clean start would end it at once), so clean start is off and the session
    expires after ``will_delay_s``. The node subscribes to nothing: the session holds no
    messages."""
    if dest.protocol != "5" or not dest.will_delay_s:
        return {}
    props = mqtt5.connect_properties(session_expiry_s=dest.will_delay_s)
    return {"clean_start": False, "properties": props}


def _leave_writing_to_the_loop(_client: Client, _userdata: object, _sock: SocketLike) -> None:
    """paho write-registration hook: the network thread's loop() writes; nothing to do."""


def new_client(
    dest: DestinationConfig, client_id: str, ctx: ssl.SSLContext | None, window: int
) -> Client:
    """A fresh client for one connection (paho never carries our messages across one);
    the network thread reconnects, never paho."""
    v5 = dest.protocol == "5"
    client = mqtt5.new_client(client_id, ctx, mqtt5=v5, reconnect_on_failure=False)
    # paho must never queue one of ours: a queued message can be overtaken by the next
    # publish() from this thread. Headroom for the status messages of on_connect/stop.
    client.max_inflight_messages_set(window + 4)
    # Only the network thread may touch the socket. Without a loop thread of paho's own,
    # publish() writes to the socket from the calling thread, racing the network thread:
    # packets leave out of order, and interleaved TLS writes break the connection. With a
    # (no-op) write-registration callback paho leaves all writing to our loop, which the
    # socket pair wakes.
    client.on_socket_register_write = _leave_writing_to_the_loop
    client.max_queued_messages_set(0)
    return client


def refusal(exc: BaseException | None, dest: DestinationConfig, *, tls: bool) -> str:
    """Why a connection ended before the broker accepted it, in plain words."""
    if exc is not None:
        return explain(exc)
    if tls and dest.tls and dest.tls.cert:
        return (
            "broker closed the connection before accepting it: its TLS 1.3 handshake "
            "rejected the client certificate (unknown CA, expired or revoked), which "
            "TLS 1.3 reports only after connect"
        )
    return "broker closed the connection before accepting it"


def publish_properties(dest: DestinationConfig, m: OutboxMessage) -> Properties | None:
    """MQTT 5 user properties of *m* (id, kind, chunk data) and its message expiry; None
    over MQTT 3.1.1."""
    if dest.protocol != "5":
        return None
    expiry = None if m.expires is None else max(1, int(m.expires - time.time()))
    return mqtt5.publish_properties(
        [("id", m.id), ("kind", m.kind), *m.properties], expiry_s=expiry
    )
