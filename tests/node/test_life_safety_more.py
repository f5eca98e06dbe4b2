"""Life safety before evidence, continued (tests/node/test_life_safety.py): an empty client
certificate of a second destination, a corrupt outbox and a disk so full the node cannot be
built. In each the real daemon's siren sounds for smoke at once and the alarm reaches the
police at once, or within 2 s of space becoming usable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from conftest import Subscribe
from faults import fill, small_disk
from nodecfg import tls_destination
from pinned import SIREN, PinnedNode, smoke_node
from test_life_safety import POLICE_S, SIREN_S

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _smoke(police: Subscriber, prefix: str = "warehouse/") -> float | None:
    for m in list(police.messages):
        is_event = m.topic.startswith(prefix) and m.topic.endswith("/events")
        if is_event and m.json().get("kind") == "smoke":
            return m.at
    return None


def _start(tmp: Path, text: str, status: str = "running") -> PinnedNode:
    config = tmp / "node.toml"
    config.write_text(text)
    node = PinnedNode(config).start()
    assert node.wait_status(status, 60), node.tail()
    return node


def _siren(node: PinnedNode) -> float:
    at = node.smoke()
    on = node.wait_on(SIREN, at, 10)
    assert on is not None and on - at < SIREN_S, node.tail()
    return at


def _within(police: Subscriber, since: float, node: PinnedNode, prefix: str = "warehouse/") -> None:
    assert police.wait_for(lambda _m: _smoke(police, prefix) is not None, 15), node.tail()
    arrived = _smoke(police, prefix)
    assert arrived is not None
    assert arrived - since < POLICE_S, f"{arrived - since:.2f} s"


def test_an_empty_certificate_of_a_second_destination_stops_nothing_else(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The insurer's certificate is an empty file: the police get the smoke alarm at once, the
    heartbeat and STATUS= name the waiting destination and its file; the certificate put
    back, the insurer gets the alarm that was queued for it."""
    pair = CertPair(tmp_path / "insurer" / "node.crt", tmp_path / "insurer" / "node.key")
    pair.key.parent.mkdir()
    shutil.copy(node_cert.key, pair.key)
    os.chmod(pair.key, 0o600)
    pair.cert.write_bytes(b"")
    insurer = tls_destination(broker, ca, pair, name="insurer", topic_prefix="insurer")
    text = smoke_node(tmp_path / "data", "two-1", broker, ca, node_cert, destinations=[insurer])
    police = subscribe("warehouse/safe/two-1/#", client_id="two-1-police")
    other = subscribe("insurer/safe/two-1/#", client_id="two-1-insurer")
    node = _start(tmp_path, text)
    try:
        _within(police, _siren(node), node)
        reason = f"destination_waiting:insurer:{pair.cert}"
        assert node.wait_status(reason, 10), node.status_lines()
        assert police.wait_for(
            lambda m: any(reason in json.loads(x.payload)["reasons"]
                          for x in m if x.topic.endswith("/health")), 10)  # fmt: skip
        assert _smoke(other, "insurer/") is None
        shutil.copy(node_cert.cert, pair.cert)
        installed = time.time()
        assert other.wait_for(lambda _m: _smoke(other, "insurer/") is not None, 15), node.tail()
        late = (_smoke(other, "insurer/") or installed) - installed
        print(f"the insurer got the queued alarm {late:.2f} s after its certificate")
        assert node.wait_record("destination.ready", 5)
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def test_a_corrupt_outbox_does_not_keep_the_alarm_in(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """4 KiB of garbage at offset 8192 of outbox.sqlite (its header intact): the node starts,
    the siren sounds and the smoke alarm reaches the police at once."""
    text = smoke_node(tmp_path / "data", "box-1", broker, ca, node_cert)
    cfg = loads(text)
    box = Outbox(cfg.outbox_path)
    for n in range(40):
        body = json.dumps({"kind": "door_open", "n": n, "pad": "x" * 600}).encode()
        box.put(OutboxMessage(f"old-{n}", Priority.EVENT, "door_open", "events", body,
                              time.time()), ["police"])  # fmt: skip
    box.close()
    assert cfg.outbox_path.stat().st_size > 8192 + 4096
    with cfg.outbox_path.open("r+b") as f:
        f.seek(8192)
        f.write(os.urandom(4096))
    police = subscribe("warehouse/safe/box-1/#", client_id="box-1-watch")
    node = _start(tmp_path, text)
    try:
        _within(police, _siren(node), node)
    finally:
        node.send(signal.SIGTERM)
        assert node.wait(30) == 0, node.tail()


def test_a_node_that_cannot_be_built_on_a_full_disk_runs_its_siren_alone(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """First start on a disk full to the last byte (nothing of the node's state fits): the
    GPIO runs alone (READY, STATUS says why), smoke sounds the siren at once; space freed,
    the node is built and the alarm that waited reaches the police within 2 s."""
    with small_disk(tmp_path / "disk", "8m") as disk:
        text = smoke_node(disk / "data", "full-1", broker, ca, node_cert)
        filler = fill(disk)
        police = subscribe("warehouse/safe/full-1/#", client_id="full-1-watch")
        node = _start(tmp_path, text, status="sensors and sirens only")
        try:
            assert node.wait_record("node.safety_only", 5)
            _siren(node)
            assert node.wait_record("event.waiting", 5)
            filler.unlink()
            freed = time.time()
            _within(police, freed, node)
            assert node.records("node.safety_ended")
        finally:
            node.send(signal.SIGTERM)
            assert node.wait(30) == 0, node.tail()
