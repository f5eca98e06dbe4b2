"""A certificate revoked with `edge pki revoke` is refused by a real mosquitto that reads the
CA's crl.pem (``crlfile``), while a certificate of the same CA that is not revoked
connects; the broker's own certificate comes from `edge pki sign --role broker`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pkicli import PkiCA, edge_pki

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair
from edge.link.mqtt import MqttLink
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox


@pytest.fixture
def fleet(tmp_path: Path) -> PkiCA:
    """An `edge pki` CA with its (empty) CRL."""
    return PkiCA(tmp_path / "ca")


def _link(tmp_path: Path, broker: LocalBroker, ca: PkiCA, cert: CertPair, node: str) -> MqttLink:
    outbox = Outbox(tmp_path / f"{node}.sqlite")
    alarm = OutboxMessage("ev-1", Priority.ALARM, "door_open", "events", b"{}", time.time())
    outbox.put(alarm, ["police"])
    tls = TlsConfig(ca=str(ca.ca_path), cert=str(cert.cert), key=str(cert.key))
    dest = DestinationConfig(name="police", host="localhost", port=broker.tls_port, tls=tls)
    link = MqttLink(dest, NodeConfig(id=node, site="s"), outbox)
    link.start()
    return link


@pytest.fixture
def crl_broker(tmp_path: Path, fleet: PkiCA) -> Iterator[tuple[LocalBroker, CertPair, CertPair]]:
    """A mosquitto with the fleet CA and its CRL, after node wh-02 was revoked: (broker,
    wh-01's certificate, wh-02's)."""
    good, bad = fleet.issue("wh-01"), fleet.issue("wh-02")
    assert edge_pki("revoke", "--ca-dir", fleet.dir, "--cert", bad.cert) == 0
    broker = LocalBroker(tmp_path / "broker", fleet, crlfile=fleet.dir / "crl.pem")
    assert "crlfile" in broker.config_text()
    broker.start()
    yield broker, good, bad
    broker.stop()


def test_revoked_node_is_refused_by_mosquitto(
    tmp_path: Path, fleet: PkiCA, crl_broker: tuple[LocalBroker, CertPair, CertPair]
) -> None:
    """wh-01 connects and its alarm is acknowledged (the outbox empties); revoked wh-02
    never connects, its link names the rejected client certificate and keeps its alarm."""
    broker, good, bad = crl_broker
    ok = _link(tmp_path, broker, fleet, good, "wh-01")
    refused = _link(tmp_path, broker, fleet, bad, "wh-02")
    try:
        assert ok.wait_connected(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (
            refused.stats.last_error and not ok.outbox.total()
        ):
            time.sleep(0.1)
        assert ok.outbox.total() == 0
        error = refused.stats.last_error or ""
        assert "client certificate" in error and "reject" in error, error
        assert not refused.connected and refused.stats.connects == 0
        assert refused.outbox.total() == 1
    finally:
        ok.shutdown()
        refused.shutdown()
    log = broker.log_path.read_text()
    assert "revoked" in log.lower() or "certificate verify failed" in log.lower(), log[-2000:]
