"""Clip chunks on the link: a broker packet limit below the chunk size is named and costs no
chunk; alarms overtake a large clip under a bandwidth cap."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Subscribe
from traffic import event, signed_clip, tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey
from edge.link.mqtt import MqttLink
from edge.outbox.message import Priority
from edge.outbox.store import Outbox


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_broker_packet_limit_below_chunk_size(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, protocol: str
) -> None:
    """A broker that accepts at most 64 KiB packets and 256 KiB chunks: the error says so and
    names the setting; the chunks stay queued and events still get through."""
    broker = LocalBroker(tmp_path / "small", ca, max_packet_size=65536)
    broker.start()
    try:
        outbox = Outbox(tmp_path / "o.sqlite")
        messages, _ = signed_clip(tmp_path, NodeKey.create(tmp_path / "k.pem"), 1, size=600_000)
        outbox.put_many(messages, ["police"])
        link = MqttLink(
            tls_dest(
                broker,
                ca.ca_path,
                node_cert,
                protocol=protocol,
                accept_unconfirmed_delivery=protocol == "3.1.1",
            ),
            NodeConfig(id="n", site="s"),
            outbox,
        )
        link.start()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "chunk_size" not in (link.stats.delivery_error or ""):
            time.sleep(0.2)
        outbox.put(event(7), ["police"])
        link.wake()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and outbox.total() > len(messages) - 1:
            time.sleep(0.1)
        link.shutdown()
        error = link.stats.delivery_error or ""
        assert "chunk_size" in error and ("65536" in error or "packet size" in error), error
        assert outbox.pending("police", 100)  # chunks kept, not lost
        assert outbox.total() == len(messages) - 1  # only the small manifest and the event left
    finally:
        broker.stop()


def test_alarms_overtake_clip_chunks(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """With a 20 MB clip queued first and a 2 MB/s cap, an alarm queued after it arrives long
    before the clip is through."""
    police = subscribe("warehouse/s/ovt/#", client_id="overtake")
    outbox = Outbox(tmp_path / "o.sqlite")
    messages, _ = signed_clip(
        tmp_path, NodeKey.create(tmp_path / "k.pem"), 2, size=20 * 1024 * 1024
    )
    outbox.put_many(messages, ["police"])
    link = MqttLink(
        tls_dest(broker, ca.ca_path, node_cert, bandwidth_bps=2_000_000),
        NodeConfig(id="ovt", site="s"),
        outbox,
    )
    link.start()
    try:
        assert link.wait_connected(10)
        time.sleep(1.0)
        outbox.put(event(1, Priority.ALARM), ["police"])
        link.wake()
        t0 = time.monotonic()
        assert police.wait_for(lambda m: any(x.topic.endswith("/events") for x in m), 10)
        alarm_after = time.monotonic() - t0
        chunks_before = sum(1 for x in police.messages if x.topic.split("/")[-1].isdigit())
    finally:
        link.shutdown()
    assert alarm_after < 1.5
    assert chunks_before < len(messages) / 2  # the clip was far from done
