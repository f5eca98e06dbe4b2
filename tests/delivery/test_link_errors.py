"""The link names what keeps it from the broker (untrusted broker, rejected or expired client
certificate, nothing listening) and keeps the alarm queued; a plain link needs a flag."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from traffic import event, tls_dest

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig
from edge.core.ids import new_id
from edge.demo.broker import LocalBroker, free_port
from edge.demo.pki import CertPair, DemoCA
from edge.link.mqtt import MqttLink
from edge.outbox.message import Priority
from edge.outbox.store import Outbox


def _link_error(tmp_path: Path, dest: DestinationConfig, wait: float = 15.0) -> tuple[str, Outbox]:
    outbox = Outbox(tmp_path / f"o-{new_id()}.sqlite")
    outbox.put(event(1, Priority.ALARM), [dest.name])
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not link.stats.last_error:
        time.sleep(0.1)
    link.shutdown()
    assert not link.connected or link.stats.last_error
    return link.stats.last_error or "", outbox


def test_wrong_ca_is_named(tmp_path: Path, broker: LocalBroker, node_cert: CertPair) -> None:
    """A site CA that did not sign the broker: 'not trusted by the configured CA'; the
    alarm stays queued."""
    other = DemoCA(tmp_path / "other", name="some other CA")
    error, outbox = _link_error(tmp_path, tls_dest(broker, other.ca_path, node_cert))
    assert "broker certificate not trusted by the configured CA" in error
    assert outbox.total() == 1


def test_unknown_client_certificate_is_named(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """A client certificate from a CA the broker does not trust is reported as rejected."""
    stranger = DemoCA(tmp_path / "stranger", name="stranger CA").issue("intruder")
    error, outbox = _link_error(tmp_path, tls_dest(broker, ca.ca_path, stranger))
    assert "client certificate" in error and "reject" in error, error
    assert outbox.total() == 1


def test_expired_client_certificate_is_named(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA
) -> None:
    """An expired client certificate is reported as such (or as rejected), never silently."""
    import datetime as dt

    old = ca.issue(
        "expired-node", valid_days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    )
    error, outbox = _link_error(tmp_path, tls_dest(broker, ca.ca_path, old))
    assert "client certificate" in error and ("expired" in error or "reject" in error), error
    assert outbox.total() == 1


def test_insecure_link_needs_the_flag_and_warns(
    tmp_path: Path, broker: LocalBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain connection works only with allow_insecure = true, and warns at start."""
    from edge.core import logs

    logs.configure("info", "json")
    dest = DestinationConfig(
        name="lab", host="127.0.0.1", port=broker.plain_port, allow_insecure=True
    )
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(event(1), ["lab"])
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    deadline = time.monotonic() + 10
    while outbox.total() and time.monotonic() < deadline:
        time.sleep(0.05)
    link.shutdown()
    assert outbox.total() == 0
    assert '"event": "mqtt.insecure"' in capsys.readouterr().err


def test_connection_refused_is_named(tmp_path: Path, ca: DemoCA, node_cert: CertPair) -> None:
    """Nothing listening: 'connection refused'."""
    dead = LocalBroker(tmp_path / "dead", ca)
    dead.tls_port = free_port()
    error, outbox = _link_error(tmp_path, tls_dest(dead, ca.ca_path, node_cert), wait=5)
    assert "connection refused" in error and outbox.total() == 1
