"""The retained heartbeat carries the node's health and matches its schema; docs/mqtt.md names
every topic the node publishes and every schema."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import Subscribe
from nodecfg import node_config, tls_destination
from traffic import ROOT

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.node.replay import drain


def test_heartbeat_reports_health(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The heartbeat carries uptime, queue depth per class, evictions, disk free, clock sync,
    link state and the audit head; it is retained for late subscribers."""
    from edge.config.loader import loads
    from edge.node.node import Node

    cfg = loads(
        node_config(
            tmp_path / "data",
            "hb",
            extra="[health]\ninterval_s = 5",
            destinations=[tls_destination(broker, ca, node_cert, name="operator")],
        )
    )
    node = Node(cfg)
    node.start()
    try:
        assert node.links[0].wait_connected(10)
        deadline = time.monotonic() + 10
        while node.outbox.total() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert drain(node, 10)
    finally:
        node.stop()
    late = subscribe("warehouse/s/hb/health", client_id="late")
    assert late.wait_for(bool, 5)
    health = late.messages[0].json()
    assert late.messages[0].retain
    import jsonschema

    schema = json.loads((ROOT / "edge" / "schemas" / "health.schema.json").read_text())
    jsonschema.validate(health, schema)
    for key in (
        "uptime_s",
        "queue",
        "outbox_counters",
        "disk_free_bytes",
        "clock_synced",
        "links",
        "audit_head",
        "cameras",
        "cpu_temp_c",
        "version",
    ):
        assert key in health, key
    assert health["links"]["operator"]["connected"] is True
    assert len(health["audit_head"]) == 64


def test_docs_name_every_topic_and_schema() -> None:
    """docs/mqtt.md documents each topic the code publishes and each schema file exists."""
    from edge.wire import topics

    doc = (ROOT / "docs" / "mqtt.md").read_text()
    for topic in (
        topics.STATUS,
        topics.EVENTS,
        topics.HEALTH,
        "clips/CLIP_ID/manifest",
        "clips/CLIP_ID/N",
        "snapshots/SNAPSHOT_ID",
    ):
        assert f".../{topic}`" in doc, topic
    for schema in ("event", "clip-manifest", "health"):
        path = ROOT / "edge" / "schemas" / f"{schema}.schema.json"
        assert f"edge/schemas/{schema}.schema.json" in doc
        json.loads(path.read_text())
