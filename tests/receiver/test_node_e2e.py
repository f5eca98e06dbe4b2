"""The real node daemon (``python -m edge run``, a subprocess) delivering over mutual TLS to
a real receiver: its person events, heartbeat and clip are stored and verified; killed, it is
reported offline, and its return clears the alert."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from conftest import SHARED
from nodecfg import file_camera, node_config, tls_destination
from nodeproc import enrol_node, node_daemon
from rx import receiver_toml
from timing import wait_until

from edge.config.loader import loads as node_loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import verify_clip
from edge.receiver.config import loads as receiver_loads
from edge.receiver.service import Receiver
from edge.receiver.store import reads
from edge.receiver.store.reads import EventFilter

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
SITE = "s1"


@pytest.fixture
def prefix(tmp_path: Path) -> str:
    """A topic prefix of this test's own: the session broker keeps other tests' nodes'
    retained status and heartbeats under ``warehouse/``, which this receiver would
    (rightly) quarantine as unenrolled."""
    return "rx-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]


@pytest.fixture
def receiver(tmp_path: Path, broker: LocalBroker, ca: DemoCA, prefix: str) -> Iterator[Receiver]:
    """A running receiver (SQLite store, default offline_after_s of 80 s) on *prefix*."""
    text = receiver_toml(tmp_path / "rx", broker, ca, name=prefix, prefix=prefix)
    cfg = receiver_loads(text)
    assert cfg.supervision.offline_after_s == 80
    r = Receiver(cfg)
    r.start()
    try:
        assert r.ingest.subscribed.wait(10)
        yield r
    finally:
        r.stop()


def _node_toml(
    tmp: Path, node: str, broker: LocalBroker, ca: DemoCA, cert: CertPair, prefix: str, *,
    cameras: list[str], extra: str = "",
) -> str:  # fmt: skip
    return node_config(
        tmp / "data",
        node,
        SITE,
        extra=extra,
        cameras=cameras,
        destinations=[tls_destination(broker, ca, cert, topic_prefix=prefix)],
    )


def _node_row(r: Receiver, node: str) -> dict[str, Any]:
    rows = [n for n in reads.nodes(r.store.db) if n["node"] == node]
    assert len(rows) == 1, rows
    return rows[0]


def _open_offline(r: Receiver, node: str) -> list[dict[str, Any]]:
    return [
        a
        for a in reads.alerts(r.store.db)
        if a["kind"] == "node_offline" and a["node"] == node and a["site"] == SITE
    ]


def _complete_clips(r: Receiver) -> list[tuple[str, str, str, str]]:
    rows = r.store.db.query(
        "SELECT clip_id, path, sha256, envelope FROM clips WHERE state = 'complete'"
    )
    return [(str(c), str(p), str(s), str(e)) for c, p, s, e in rows]


def test_a_node_daemon_delivers_verified_events_clip_and_heartbeats(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    receiver: Receiver,
    prefix: str,
) -> None:
    """walking-by.h264 through `edge run` with the YOLOX-nano detector: the receiver stores
    the person events, the heartbeat (node online) and the clip, reassembled to the signed
    manifest's sha256 and decodable; nothing is quarantined."""
    text = _node_toml(
        tmp_path, "e2e-clip", broker, ca, node_cert, prefix,
        extra=f'[detector]\nbackend = "onnx"\nmodel = "{MODEL}"\n'
        "[clips]\npre_roll_s = 2\npost_roll_s = 2",
        cameras=[file_camera("corridor", videos / "walking-by.h264", fps=5)],
    )  # fmt: skip
    key = NodeKey(node_loads(text).key_path)
    enrol_node(receiver.store, SITE, "e2e-clip", key.path)
    db = receiver.store.db

    def persons() -> list[dict[str, Any]]:
        return reads.events(db, EventFilter(node="e2e-clip", kind="person"))

    def delivered() -> bool:
        clips = {c[0] for c in _complete_clips(receiver)}
        return any(e["clip_id"] in clips for e in persons()) and bool(
            db.query("SELECT last_health FROM nodes WHERE node = 'e2e-clip'")[0][0]
        )

    with node_daemon(text, tmp_path / "node") as node:
        assert wait_until(delivered, 120, step=0.2), node.tail()
        assert node.running(), node.tail()
        board = _node_row(receiver, "e2e-clip")  # while it runs: killed, it goes offline
        assert board["state"] == "online" and board["last_seen"] is not None, board

    events = reads.events(db, EventFilter())
    assert events and {e["node"] for e in events} == {"e2e-clip"}
    assert len({e["id"] for e in events}) == len(events)  # each stored once
    starts = [e for e in persons() if e["state"] == "start"]
    assert starts and all(e["clip_id"] and e["camera"] == "corridor" for e in starts)

    assert board["key_id"] == key.id
    health = json.loads(db.query("SELECT last_health FROM nodes")[0][0])
    assert "corridor" in health["cameras"]

    clips = _complete_clips(receiver)
    assert {e["clip_id"] for e in starts} & {c[0] for c in clips}
    for clip_id, path_text, sha256, envelope in clips:
        path = Path(path_text)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256
        beside = json.loads(path.with_suffix(".json").read_text())
        assert beside == json.loads(envelope)
        assert beside["manifest"]["sha256"] == sha256 and beside["manifest"]["clip_id"] == clip_id
        verify_clip(beside, key.public, path)  # the node's signature over this very file
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0), None)
            assert frame is not None and frame.width > 0
    assert reads.quarantine(db) == []
    assert [a for a in reads.alerts(db) if a["kind"] != "node_offline"] == []


@pytest.mark.slow
def test_a_killed_node_is_reported_offline_and_its_return_clears_it(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    receiver: Receiver,
    prefix: str,
) -> None:
    """A running node SIGKILLed: the receiver (offline_after_s 80) has an open node_offline
    for it within 90 s (the broker's last will, after its delay, or, within the receiver's
    first 30 s, when that restart grace has passed); the node restarted with
    the same config: the alert clears and the board no longer shows it offline."""
    text = _node_toml(
        tmp_path, "e2e-kill", broker, ca, node_cert, prefix,
        cameras=[file_camera("hall", videos / "preview_people-detection.gif")],
    )  # fmt: skip
    enrol_node(receiver.store, SITE, "e2e-kill", node_loads(text).key_path)

    def state() -> str:
        return str(_node_row(receiver, "e2e-kill")["state"])

    with node_daemon(text, tmp_path / "node") as node:
        assert wait_until(lambda: state() == "online", 60, step=0.1), node.tail()
        assert _open_offline(receiver, "e2e-kill") == []

        node.kill()
        assert wait_until(lambda: _open_offline(receiver, "e2e-kill"), 90, step=0.1), node.tail()
        assert state() == "offline"

        node.start()
        assert wait_until(lambda: not _open_offline(receiver, "e2e-kill"), 60, step=0.1), (
            node.tail()
        )
        assert wait_until(lambda: state() != "offline", 10), node.tail()
        assert node.running(), node.tail()
        closed = [
            a
            for a in reads.alerts(receiver.store.db, open_only=False)
            if a["kind"] == "node_offline" and a["node"] == "e2e-kill"
        ]
        assert len(closed) == 1 and closed[0]["cleared"] is not None, closed
    assert reads.quarantine(receiver.store.db) == []
