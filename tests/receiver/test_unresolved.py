"""A broker name that does not resolve is logged at once (issue 22, finding 8: the receiver
was silent for 30 s): ``broker.unresolved`` with the host, then one line a minute with the
attempts since; any other failed attempt (nothing listening) is ``broker.connect_failed``
with the reason; ``broker.reachable`` when an attempt gets through again."""

from __future__ import annotations

import socket
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from rx import receiver_toml
from timing import FakeClock, wait_until

from edge.core.ratelog import Repeats
from edge.demo.broker import LocalBroker, free_port
from edge.demo.pki import DemoCA
from edge.receiver.config import loads
from edge.receiver.mqttclient import CONNECT_LOG_EVERY_S, ReceiverClient
from edge.receiver.service import Receiver

Events = list[MutableMapping[str, Any]]
UNRESOLVABLE = "nonexistent.invalid"
"""RFC 6761: ``.invalid`` never resolves."""


@pytest.fixture
def log_events() -> Iterator[Events]:
    """The structured log events emitted during the test (every thread)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def _named(events: Events, name: str) -> Events:
    return [e for e in list(events) if e["event"] == name]


def test_receiver_says_at_once_that_the_broker_name_does_not_resolve(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, log_events: Events
) -> None:
    """A receiver configured with broker host nonexistent.invalid logs broker.unresolved
    naming the host within 5 s of starting (the first attempt; paho then retries in
    silence every 1 to 30 s), as an error."""
    text = receiver_toml(tmp_path / "rx", broker, ca, name="unresolved")
    r = Receiver(loads(text.replace('host = "localhost"', f'host = "{UNRESOLVABLE}"')))
    r.start()
    try:
        assert wait_until(lambda: _named(log_events, "broker.unresolved"), 5)
        line = _named(log_events, "broker.unresolved")[0]
        assert line["host"] == UNRESOLVABLE and line["log_level"] == "error"
        assert line["port"] == broker.tls_port and line["attempts"] == 1 and line["error"]
    finally:
        r.stop()


def test_repeated_failures_are_counted_then_the_broker_is_back(log_events: Events) -> None:
    """Attempts 10 s apart for 3 minutes (explicit clock): a line at the first and one a
    minute after, each counting the attempts it stands for; a refused port is
    connect_failed with the reason; an attempt that gets through says how many failed."""
    clock = FakeClock()
    client = ReceiverClient("t")
    client.connect_failures = Repeats(CONNECT_LOG_EVERY_S, clock)
    client.connect_async(UNRESOLVABLE, 8883)
    for _ in range(18):
        with pytest.raises(socket.gaierror):
            client.reconnect()
        clock.advance(10)
    lines = _named(log_events, "broker.unresolved")
    assert [(e["attempts"], e["since_last_line"]) for e in lines] == [(1, 1), (7, 6), (13, 6)]
    assert [e["down_s"] for e in lines] == [0.0, 60.0, 120.0]
    port = free_port()  # nothing listens there
    client.connect_async("127.0.0.1", port)
    clock.advance(60)
    with pytest.raises(ConnectionRefusedError):
        client.reconnect()
    refused = _named(log_events, "broker.connect_failed")
    assert refused and "connection refused" in refused[0]["reason"]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        client.connect_async("127.0.0.1", listener.getsockname()[1])
        client.reconnect()
        back = _named(log_events, "broker.reachable")
        assert len(back) == 1 and back[0]["failed_attempts"] == 19
    finally:
        sock = client.socket()
        if sock is not None:
            sock.close()
        listener.close()
