"""The thin end-to-end path against a real mosquitto: file -> motion -> event -> MQTT (TLS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Subscribe
from nodecfg import file_camera, node_config, sensor, tls_destination

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.node.node import Node
from edge.node.replay import drain, wait_cameras


def _config(tmp: Path, video: Path, broker: LocalBroker, ca: DemoCA, cert: CertPair) -> str:
    return node_config(
        tmp,
        "n1",
        "s1",
        mock_gpio=True,
        cameras=[file_camera("hall", video, fps=5)],
        sensors=[sensor("door", "door", pin=5)],
        destinations=[tls_destination(broker, ca, cert)],
    )


def test_video_and_door_events_reach_the_broker(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """Motion in a real video and a door opening on a mock pin arrive at a subscriber over
    mutual TLS, each event once, with the retained online status first."""
    cfg = loads(_config(tmp_path, videos / "car-detection.mp4", broker, ca, node_cert))
    police = subscribe("warehouse/s1/n1/#")
    node = Node(cfg)
    pin = node.pin_factory.pin(5)
    pin.drive_low()  # door shut
    node.start()
    try:
        pin.drive_high()  # door opens
        pin.drive_low()
        assert wait_cameras(node, 60)
        assert drain(node, 20), node.outbox.depth()
        expected = sum(node.sink.counts.values())
        assert police.wait_for(
            lambda m: len([x for x in m if x.topic.endswith("events")]) >= expected, 10
        )
    finally:
        node.stop()
    events = police.events()
    kinds = [(e["kind"], e["state"]) for e in events]
    assert ("motion", "start") in kinds and ("motion", "end") in kinds
    assert ("door_open", "start") in kinds and ("door_open", "end") in kinds
    assert len({e["id"] for e in events}) == len(events) == expected
    for e in events:
        assert e["schema"] == "warehouse-edge/event/1"
        assert e["node"] == "n1" and e["site"] == "s1"
    # live status messages (a retained one may be left by an earlier node of the same id)
    statuses = [m for m in police.messages if m.topic == "warehouse/s1/n1/status" and not m.retain]
    assert json.loads(statuses[0].payload)["state"] == "online"
    assert json.loads(statuses[-1].payload)["state"] == "offline"


def test_events_accepted_while_broker_unreachable_wait_in_the_outbox(
    tmp_path: Path, videos: Path, ca: DemoCA, node_cert: CertPair
) -> None:
    """With no broker listening, events are still accepted and stay queued on disk."""
    from edge.demo.broker import free_port

    dead = LocalBroker(tmp_path / "b", ca)
    dead.tls_port = free_port()  # never started
    text = _config(tmp_path, videos / "car-detection.mp4", dead, ca, node_cert)
    node = Node(loads(text))
    node.start()
    try:
        assert wait_cameras(node, 60)
        accepted = sum(node.sink.counts.values())
        assert accepted >= 2
        queued = node.outbox.depth()["police"]  # heartbeats may be queued too: not counted
        assert queued.get("alarm", 0) + queued.get("event", 0) == accepted
        assert not node.links[0].connected
        assert "refused" in (node.links[0].stats.last_error or "")
    finally:
        node.stop()


def test_edge_demo_prints_events_from_the_broker_and_exits_0(videos: Path) -> None:
    """The README's demo: prints motion and door events as received, ends OK, exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "demo", str(videos / "one-by-one-person-detection.mp4")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    police = [x for x in lines if x.startswith("[police")]
    assert any("door_open" in x and "start" in x for x in police)
    assert any(("motion" in x or "person" in x) and "start" in x for x in police)
    assert lines[-1] == "demo: OK"


@pytest.mark.slow
def test_demo_json_is_json_alone_on_stdout(videos: Path) -> None:
    """`edge demo --json`: stdout is one JSON document (banners go to stderr), ok is true,
    and the police receiver verified and stored every accepted event, nothing quarantined."""
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "demo", "--json", str(videos / "car-detection.mp4")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True and summary["received"].get("door_open")
    assert summary["receiver"]["events"] == sum(summary["accepted"].values())
    assert summary["receiver"]["quarantined"] == 0
    assert "demo: broker mosquitto" in proc.stderr


def test_cli_version_and_help_list_the_commands() -> None:
    """`edge --version` prints the version; `edge --help` lists the sub-commands."""
    from edge import __version__

    out = subprocess.run(
        [sys.executable, "-m", "edge", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"edge {__version__}"
    helptext = subprocess.run(
        [sys.executable, "-m", "edge", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("run", "demo", "check-config"):
        assert command in helptext
