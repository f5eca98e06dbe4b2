"""The node end to end with evidence: person events carry their clip and snapshot; the signed
manifest reaches the broker and checks out against the clip kept on the node; every message
validates against its JSON Schema; the audit chain records what was shared, and verifies."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import SHARED, Subscribe
from nodecfg import file_camera, node_config, tls_destination

from edge.clips.store import ClipStore
from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.audit import verify_log
from edge.evidence.keys import load_public, public_pem
from edge.evidence.manifest import verify_clip, verify_manifest
from edge.node.node import Node
from edge.node.replay import drain, flush_clips, wait_cameras

SCHEMAS = Path(__file__).resolve().parents[2] / "edge" / "schemas"
MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"


@pytest.mark.slow
def test_person_clip_snapshot_manifest_audit(
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
) -> None:
    """walking-by.h264 through the whole node."""
    cfg = loads(
        node_config(
            tmp_path / "data",
            "ev1",
            "s1",
            extra=f'[detector]\nbackend = "onnx"\nmodel = "{MODEL}"\n'
            "[clips]\npre_roll_s = 2\npost_roll_s = 2",
            cameras=[file_camera("corridor", videos / "walking-by.h264", fps=5)],
            destinations=[tls_destination(broker, ca, node_cert)],
        )
    )
    police = subscribe("warehouse/s1/ev1/#", client_id="evidence-watch")
    node = Node(cfg)
    public = load_public(public_pem(node.key.public))  # as `edge keys export` hands it over
    node.start()
    try:
        assert wait_cameras(node, 60)
        assert flush_clips(node, 30)
        assert drain(node, 30)
        acked = sum('"action":"shared"' in x for x in cfg.audit_path.read_text().splitlines())
        assert acked > sum(node.sink.counts.values())  # events, manifests, chunks, snapshots
        assert police.wait_for(
            lambda m: len([x for x in m if not x.topic.endswith("/status")]) >= acked, 10
        )
    finally:
        node.stop()

    store = ClipStore(cfg.clips_dir, cfg.clips.max_bytes, 86400)  # reopened after the stop
    event_schema = json.loads((SCHEMAS / "event.schema.json").read_text())
    manifest_schema = json.loads((SCHEMAS / "clip-manifest.schema.json").read_text())
    events = police.events()
    for e in events:
        jsonschema.validate(e, event_schema)
    persons = [e for e in events if e["kind"] == "person" and e["state"] == "start"]
    assert len(persons) == 2
    assert all(e["clip_id"] and e["snapshot_id"] for e in persons)
    for e in persons:
        snap = store.get(e["snapshot_id"])
        assert snap is not None and snap.path.read_bytes()[:2] == b"\xff\xd8"  # a JPEG

    manifests = [m for m in police.messages if m.topic.endswith("/manifest")]
    assert manifests
    clip_ids = set()
    for m in manifests:
        signed = m.json()
        jsonschema.validate(signed, manifest_schema)
        manifest = verify_manifest(signed, public)
        assert m.topic == f"warehouse/s1/ev1/clips/{manifest['clip_id']}/manifest"
        clip = store.get(manifest["clip_id"])
        assert clip is not None
        verify_clip(signed, public, clip.path)
        clip_ids.add(manifest["clip_id"])
    assert {e["clip_id"] for e in persons} <= clip_ids

    check = verify_log(cfg.audit_path)
    assert check.ok, check
    records = [json.loads(x) for x in cfg.audit_path.read_text().splitlines()]
    shared = [r for r in records if r["action"] == "shared"]
    assert {r["destination"] for r in shared} == {"police"}
    received = {m.topic.removeprefix("warehouse/s1/ev1/") for m in police.messages}
    assert len(shared) == len({r["id"] for r in shared})  # each acknowledged message once
    assert {r["topic"] for r in shared} <= received  # and it did arrive
    assert sum(r["action"] == "recorded" for r in records) == node.finalizer.written
