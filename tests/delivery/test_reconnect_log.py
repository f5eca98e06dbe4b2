"""Every failed reconnect is told with its reason and its backoff: the first five of an
outage one by one, then one line a minute with how many attempts it stands for, and one
line when the link is back (attempts, time down). The red team saw one line for 7 failed
attempts."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from timing import FakeClock, wait_until
from traffic import tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link.mqtt import MqttLink
from edge.link.reconnects import FIRST, ReconnectLog
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """The structured log events emitted during the test (every thread)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def _named(events: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in events if e["event"] == name]


def test_first_attempts_each_then_one_line_a_minute_with_the_count(
    log_events: list[MutableMapping[str, Any]],
) -> None:
    """Attempts every 10 s for 3 minutes: the first five logged one by one with attempt
    number and backoff, then one line per minute saying how many attempts it covers; the
    reconnect after says how many failed and for how long."""
    clock = FakeClock()
    book = ReconnectLog("police", clock=clock)
    for _ in range(18):
        book.failed("connection refused", 10.0)
        clock.advance(10)
    lines = _named(log_events, "mqtt.connect_failed")
    assert [e["attempt"] for e in lines[:FIRST]] == list(range(1, FIRST + 1))
    assert all(e["retry_in_s"] == 10.0 and e["reason"] == "connection refused" for e in lines)
    summaries = lines[FIRST:]
    assert len(summaries) == 2  # attempts 11 and 17 (a minute after the lines before them)
    assert sum(e["since_last_line"] for e in summaries) + FIRST == 17
    assert all(e["log_level"] == "error" for e in lines)
    assert [e["down_s"] for e in summaries] == [100.0, 160.0]
    book.connected()
    back = _named(log_events, "mqtt.reconnected")
    assert len(back) == 1 and back[0]["failed_attempts"] == 18 and back[0]["down_s"] == 180.0
    book.connected()  # connected again without failures: nothing to say
    assert len(_named(log_events, "mqtt.reconnected")) == 1


def test_a_real_link_logs_each_failed_attempt_with_its_backoff(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, log_events: list[MutableMapping[str, Any]]
) -> None:
    """A destination whose broker is down (nothing listens on its port): every failed
    attempt is a line with the attempt number and the wait before the next (within the
    1 s cap); once the broker is up the link says it is back after N attempts."""
    b = LocalBroker(tmp_path / "broker", ca)  # ports chosen, nothing listening yet
    outbox = Outbox(tmp_path / "outbox.sqlite")
    dest = tls_dest(b, ca.ca_path, node_cert, reconnect_max_s=1.0)
    link = MqttLink(dest, NodeConfig(id="rc", site="s"), outbox)
    link.start()
    try:
        assert wait_until(lambda: len(_named(log_events, "mqtt.connect_failed")) >= 4, 20)
        b.start()
        assert link.wait_connected(15)
        assert wait_until(lambda: bool(_named(log_events, "mqtt.reconnected")), 5)
    finally:
        link.shutdown()
        b.stop()
    failed = _named(log_events, "mqtt.connect_failed")
    assert [e["attempt"] for e in failed] == list(range(1, len(failed) + 1))
    assert all(0 < e["retry_in_s"] <= 1.0 and e["reason"] for e in failed)
    back = _named(log_events, "mqtt.reconnected")[0]
    assert back["failed_attempts"] >= len(failed) >= 4
