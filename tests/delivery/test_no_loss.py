"""Nothing accepted is lost: not when the broker goes away for 30 s in the middle of a stream,
not when the node is killed again and again while it accepts events and clips."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Subscribe
from nodecfg import node_config, tls_destination
from traffic import ROOT, check_order_and_dupes, event, reassemble, signed_clip, tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey
from edge.link.mqtt import MqttLink
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


@pytest.mark.slow
def test_broker_down_30s_mid_stream_loses_nothing(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """1,000 events and 3 clips; the broker is stopped for 30 s in the middle and restarted:
    every event and every clip arrives, events in order, duplicates only with the same id."""
    broker = LocalBroker(tmp_path / "broker", ca, persistence=True)
    broker.start()
    police = subscribe(client_id="outage-watch", persistent=True, broker=broker)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    link = MqttLink(tls_dest(broker, ca.ca_path, node_cert), NodeConfig(id="n", site="s"), outbox)
    link.start()
    key = NodeKey.create(tmp_path / "k.pem")
    clips = {}
    try:
        assert link.wait_connected(10)
        for i in range(1000):
            outbox.put(event(i), ["police"])
            link.wake()
            if i in (150, 450, 800):
                messages, data = signed_clip(tmp_path, key, i)
                outbox.put_many(messages, ["police"])
                clips[f"clip-{i}"] = data
            if i == 300:
                broker.stop()  # the link is down from here ...
                down = time.monotonic()
            if i == 600:
                time.sleep(max(0.0, 30 - (time.monotonic() - down)))
                broker.start()  # ... for 30 s
            time.sleep(0.01)
        deadline = time.monotonic() + 120
        while outbox.total() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert outbox.total() == 0, outbox.depth()
        assert police.wait_for(lambda m: len(set(check_order_and_dupes(m))) >= 1000, 30)
    finally:
        link.shutdown()
        broker.stop()
    order = check_order_and_dupes(police.messages)
    assert order == list(range(1000))  # all of them, first arrivals in order
    for clip_id, data in clips.items():
        assert (
            hashlib.sha256(reassemble(police.messages, clip_id)).digest()
            == hashlib.sha256(data).digest()
        )
        assert any(m.topic.endswith(f"{clip_id}/manifest") for m in police.messages)
    assert link.stats.connects >= 2


@pytest.mark.slow
def test_killed_20_times_loses_no_accepted_event(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The node is killed with SIGKILL 20 times at random moments while it accepts events and
    clips, and restarted each time: every event it accepted reaches the broker, and the
    outbox passes PRAGMA integrity_check after every kill."""
    broker = LocalBroker(tmp_path / "broker", ca, persistence=True)
    broker.start()
    police = subscribe(client_id="kill-watch", persistent=True, broker=broker)
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        node_config(
            tmp_path / "data",
            "k",
            extra='[logging]\nformat = "json"\nlevel = "warning"',
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    accepted = tmp_path / "accepted.log"
    rng = random.Random(20261128)
    cmd = [sys.executable, str(ROOT / "tests" / "node" / "kill_target.py"), str(cfg), str(accepted)]
    try:
        for _ in range(20):
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"  # accepting from now on
            time.sleep(rng.uniform(0.05, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            db = sqlite3.connect(tmp_path / "data" / "outbox.sqlite")
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()
        final = subprocess.Popen(
            [*cmd, "--drain"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()[-2000:]
        ids = set(accepted.read_text().split())
        assert len(ids) > 200
        assert police.wait_for(
            lambda m: (
                ids <= {json.loads(x.payload)["id"] for x in m if x.topic.endswith("/events")}
            ),
            30,
        )
    finally:
        broker.stop()
