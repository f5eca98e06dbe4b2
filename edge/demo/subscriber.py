"""A subscriber that collects what a broker delivers over mutual TLS: the police side of the
demo and of the tests (the receiver proper is built on the same paho client settings)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge.wire.mqtt5 import Client, MQTTMessage, connect_properties, new_client


class ClientFiles(Protocol):
    """Paths of the subscriber's PEM certificate and private key."""

    @property
    def cert(self) -> Path:
        """Certificate path."""
        ...

    @property
    def key(self) -> Path:
        """Private key path."""
        ...


@dataclass(frozen=True)
class Received:
    """One message as it arrived."""

    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:  # tests read nested fields of what they published: left open
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class Subscriber:
    """Subscribes to *topic* over mutual TLS and records every message."""

    def __init__(
        self,
        port: int,
        ca: str,
        client: ClientFiles,
        *,
        topic: str = "warehouse/#",
        on_message: Callable[[Received], None] | None = None,
        client_id: str = "police-watch",
        persistent: bool = False,
    ) -> None:
        self.topic = topic
        self.messages: list[Received] = []
        self._on_message = on_message
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(str(client.cert), str(client.key))
        self._client = new_client(client_id, ctx)
        self._persistent = persistent
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = self._connected
        self._client.on_subscribe = lambda *_a: self._subscribed.set()
        self._client.on_message = self._message
        self._port = port

    def start(self, timeout: float = 10.0) -> None:
        """Connect and wait until the subscription is active."""
        props = None
        if self._persistent:  # like a real receiver: the broker keeps what arrives meanwhile
            props = connect_properties(session_expiry_s=3600)
        self._client.connect(
            "localhost",
            self._port,
            keepalive=30,
            clean_start=not self._persistent,
            properties=props,
        )
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError(f"subscription to {self.topic} not acknowledged in {timeout} s")

    def stop(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def _connected(self, client: Client, *_args: object) -> None:
        client.subscribe(self.topic, qos=1)

    def _message(self, _c: object, _u: object, msg: MQTTMessage) -> None:
        r = Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.time())
        with self._lock:
            self.messages.append(r)
        if self._on_message:
            self._on_message(r)

    def events(self) -> list[dict[str, Any]]:
        """Payloads received on ``.../events`` topics, parsed, in arrival order."""
        with self._lock:
            msgs = list(self.messages)
        return [m.json() for m in msgs if m.topic.endswith("/events")]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Poll until *predicate(messages)* is true or *timeout* passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                msgs = list(self.messages)
            if predicate(msgs):
                return True
            time.sleep(0.02)
        return False
