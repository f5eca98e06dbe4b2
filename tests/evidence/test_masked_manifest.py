"""A masked camera's evidence names its mask: the signed manifest of its clip and every
event it raises carry the hash of the mask that was applied (never null)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import synth
from nodecfg import file_camera, node_config, sensor

from edge.config.loader import loads
from edge.events.model import Event
from edge.evidence.keys import load_public, public_pem
from edge.evidence.manifest import verify_manifest
from edge.node.node import Node
from edge.node.replay import flush_clips, wait_cameras

pytestmark = pytest.mark.faults


def test_masked_camera_manifest_and_events_carry_the_mask_hash(tmp_path: Path) -> None:
    """A door linked to a masked camera opens: the clip's signed manifest (read from the
    node's store, signature checked) and the camera's events carry the mask hash."""
    video = synth.write_video(tmp_path / "masked.mp4", frames=80)
    cfg = loads(
        node_config(
            tmp_path / "data",
            "mh1",
            mock_gpio=True,
            extra="[clips]\npre_roll_s = 1\npost_roll_s = 1\nkeyframe_s = 1",
            cameras=[file_camera("hall", video, realtime=True, fps=5, extra=synth.MASK_TOML)],
            sensors=[sensor("door", "door", pin=17, debounce_s=0, cameras=["hall"])],
        )
    )
    expected = synth.mask_spec("hall").digest
    node = Node(cfg)
    events: list[Event] = []
    node.sink.subscribe(events.append)
    pins = node.pin_factory
    pins.pin(17).drive_low()
    node.start()
    try:
        deadline = time.monotonic() + 20  # the pre-roll needs frames before the door opens
        while node.cameras[0].record_items < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        pins.pin(17).drive_high()
        pins.pin(17).drive_low()
        assert wait_cameras(node, 60)
        assert flush_clips(node, 30)
    finally:
        node.stop()
    manifests = sorted(cfg.clips_dir.glob("*.manifest.json"))
    assert manifests, "no clip was cut for the door"
    public = load_public(public_pem(node.key.public))
    for path in manifests:
        manifest = verify_manifest(json.loads(path.read_text()), public)
        assert manifest["camera"] == "hall"
        assert manifest["mask_hash"] == expected and expected
    camera_events = [e for e in events if e.camera == "hall"]
    assert camera_events and all(e.mask_hash == expected for e in camera_events)
