"""A paho client set up the one way the link may use it, and what its failures mean."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import __version__
from edge.config.transport import DestinationConfig
from edge.delivery.tls import explain


def status_payload(state: str) -> bytes:
    """The retained ``online``/``offline`` status message."""
    return json.dumps(
        {"state": state, "version": __version__, "time": time.time()},
        separators=(",", ":"),
    ).encode()


def _leave_writing_to_the_loop(_client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
    """paho write-registration hook: the network thread's loop() writes; nothing to do."""


def new_client(
    dest: DestinationConfig, client_id: str, ctx: ssl.SSLContext | None, window: int
) -> mqtt.Client:
    """A fresh client for one connection (paho never carries our messages across one)."""
    v5 = dest.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else True,
        reconnect_on_failure=False,
    )
    if ctx is not None:
        client.tls_set_context(ctx)
        client.tls_insecure_set(not ctx.check_hostname)
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
