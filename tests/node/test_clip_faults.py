"""Clips across crashes and stops, and a track across a camera loss, on the real daemon
(``edge run``) with a real RTSP camera, mosquitto and a police subscriber:

- SIGKILL while a person holds a clip: at the restart the clip is made from its journal and
  arrives, signed (the manifest verifies) and playable (PyAV decodes every frame), covering
  the pre-roll before the person to the moment of the kill; the restart logs it.
- The same, with the journal then cut before its first whole packet: the restart tells the
  police a ``clip_lost`` event with the camera, the clip id and the time range.
- SIGTERM while a person holds a clip: the clip is cut, written and delivered before the
  process exits, and it exits within the unit's stop budget (TimeoutStopSec).
- The camera's RTSP server stops while a person is tracked: the person's END comes during the
  outage, at the time the camera was lost, not at the first frame after the reconnect.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from clipnode import (
    VIDEO,
    NodeRun,
    camera_config,
    check_clip,
    clip_messages,
    complete_clip,
    events,
    wait_for,
)
from conftest import ROOT, RtspServer, Subscribe

from edge.clips.journal import MAGIC, read_journal
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber
from edge.events.model import utc_iso
from edge.node.stopflush import STOP_BUDGET_S

pytestmark = [pytest.mark.slow, pytest.mark.faults]

PERSON_S = 60.0
"""The first person START after a (re)start: the model loads, the camera connects, the person
walks in about 6 s into the stream."""


UPLINK_BPS = 50_000
"""The SIGTERM case's link (bytes/s): a slow uplink, so the clip cut at the stop takes a few
seconds to send, as on a site's LTE line."""


class Scene:
    """A node on one RTSP camera and the police watching it."""

    def __init__(self, node: NodeRun, police: Subscriber, server: RtspServer) -> None:
        self.node = node
        self.police = police
        self.server = server

    def person_start(self) -> dict[str, Any]:
        """The first person START (with its clip id) received."""
        found = wait_for(
            lambda: [e for e in events(self.police, "person", "start") if e["clip_id"]],
            PERSON_S,
            "person START with a clip",
        )
        return dict(found[0])


@pytest.fixture
def scene(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    videos: Path,
    broker: LocalBroker,
    ca: DemoCA,
    node_cert: CertPair,
    subscribe: Subscribe,
    rtsp_server: Callable[[Path], RtspServer],
) -> Iterator[Scene]:
    """A started node (id from the test's name) on a camera replaying a person walking in."""
    node_id = "clip-" + request.node.name.split("_")[1][:20]
    server = rtsp_server(videos / VIDEO)
    police = subscribe(f"warehouse/s/{node_id}/#", client_id=f"police-{node_id}")
    uplink = UPLINK_BPS if "sigterm" in node_id else 0
    node = NodeRun(
        camera_config(tmp_path, node_id, server.url, broker, ca, node_cert, uplink_bps=uplink)
    )
    node.start()
    try:
        yield Scene(node, police, server)
    finally:
        node.close()


def test_sigkill_mid_clip_the_clip_is_recovered_at_restart(scene: Scene) -> None:
    """Killed 6 s after the person's START: nothing of the clip reaches the police before
    the restart; after it the clip of that START (same id) arrives complete, signed and
    playable, from before the person to within 2 s of the kill, and the restart logs
    clip.recovered for it."""
    start = scene.person_start()
    clip_id = start["clip_id"]
    time.sleep(6.0)  # the person is still there: the clip is being cut when the node dies
    scene.node.kill()
    killed = time.time()
    assert clip_messages(scene.police, clip_id) == (None, {})
    scene.node.start()
    signed, data = wait_for(lambda: complete_clip(scene.police, clip_id), 90, "recovered clip")
    m = signed["manifest"]
    frames = check_clip(signed, data, scene.node.public_key())
    assert start["id"] in m["event_ids"] and m["camera"] == "dock"
    assert utc_iso(m["start"]) <= start["time"]  # the pre-roll before the person
    assert m["end"] >= killed - 2.0, (m["end"], killed)
    assert m["end"] <= killed + 0.5
    (line,) = [r for r in scene.node.records(run=2) if r["event"] == "clip.recovered"]
    assert line["clip"] == clip_id and line["cut"] is None
    print(f"recovered: {frames} frames, {m['duration_s']} s, ends {killed - m['end']:.2f} s "
          f"before the kill")  # fmt: skip
    assert events(scene.police, "clip_lost") == []
    code, _ = scene.node.terminate()
    assert code == 0


def test_sigkill_with_nothing_playable_left_the_loss_is_told(scene: Scene) -> None:
    """Killed mid-clip, and its journal then cut inside its first packet (a power cut before
    the disk had it): the restart sends the police a clip_lost event (valid by the event
    schema) naming the camera, the clip the person's START carries and the time range, from
    when the clip opened to the journal's last write; the restart logs clip.lost."""
    start = scene.person_start()
    time.sleep(3.0)
    scene.node.kill()
    killed = time.time()
    (journal,) = scene.node.journal_dir().glob("*.journal")
    header = read_journal(journal).header
    assert header is not None and header.clip_id == start["clip_id"]
    written = journal.stat().st_mtime
    data = journal.read_bytes()
    journal.write_bytes(data[: _first_packet(data) + 20])
    os.utime(journal, (written, written))
    scene.node.start()
    (lost,) = wait_for(lambda: events(scene.police, "clip_lost"), PERSON_S, "clip_lost")
    schema = json.loads((ROOT / "edge" / "schemas" / "event.schema.json").read_text())
    jsonschema.validate(lost, schema)
    assert (lost["camera"], lost["clip_id"]) == ("dock", start["clip_id"])
    assert lost["data"]["reason"] == "nothing_playable"
    assert lost["data"]["start"] <= start["time"] <= lost["data"]["end"]
    assert utc_iso(killed - 2.0) <= lost["data"]["end"] <= utc_iso(killed)
    assert start["id"] in lost["data"]["event_ids"]
    (line,) = [r for r in scene.node.records(run=2) if r["event"] == "clip.lost"]
    assert line["clip"] == start["clip_id"] and line["camera"] == "dock"
    code, _ = scene.node.terminate()
    assert code == 0


def _first_packet(journal: bytes) -> int:
    """Where the first packet record of a journal begins."""
    pos = len(MAGIC)
    while True:
        kind, size, _crc = struct.unpack_from(">cII", journal, pos)
        if kind == b"P":
            return pos
        pos += 9 + size


def test_sigterm_mid_clip_the_clip_is_delivered_before_exit(scene: Scene) -> None:
    """SIGTERM 3 s after the person's START, on a slow uplink (50 kB/s): the node exits 0
    within the stop budget, and by then the police have the whole clip of that START (cut
    at the stop), signed and playable."""
    start = scene.person_start()
    clip_id = start["clip_id"]
    time.sleep(3.0)
    asked = time.monotonic()
    code, exited = scene.node.terminate(timeout=STOP_BUDGET_S + 30)
    took = time.monotonic() - asked
    assert code == 0
    assert took < STOP_BUDGET_S, took
    got = complete_clip(scene.police, clip_id)
    assert got is not None, f"clip {clip_id} not delivered before exit ({took:.1f} s)"
    manifest, chunks = clip_messages(scene.police, clip_id)
    assert manifest is not None
    assert max(m.at for m in [manifest, *chunks.values()]) <= exited
    signed, data = got
    check_clip(signed, data, scene.node.public_key())
    assert start["id"] in signed["manifest"]["event_ids"]
    (flushed,) = [r for r in scene.node.records() if r["event"] == "delivery.flushed"]
    print(f"SIGTERM to exit {took:.2f} s; flush {flushed['waited_s']} s, {len(chunks)} chunks")


def test_camera_lost_mid_person_ends_the_track_at_the_loss(scene: Scene) -> None:
    """The RTSP server stops 3 s after the person's START and stays away 12 s: the person's
    END arrives during the outage, marked camera_lost, with its time within 2 s before the
    stop (the last frame seen); after the camera is back nothing more ends that track."""
    start = scene.person_start()
    time.sleep(3.0)
    scene.server.stop()
    stopped = time.time()

    def ended() -> list[dict[str, Any]]:
        return [e for e in events(scene.police, "person", "end")
                if e["occurrence"] == start["occurrence"]]  # fmt: skip

    (end,) = wait_for(ended, 12.0, "person END during the outage")
    arrived = time.time()
    assert end["data"]["reason"] == "camera_lost"
    assert utc_iso(stopped - 2.0) <= end["time"] <= utc_iso(stopped + 0.5), (end, stopped)
    print(f"END {arrived - stopped:.2f} s after the camera stopped, at {end['time']}")
    time.sleep(max(0.0, 12.0 - (time.time() - stopped)))  # the outage lasts on
    scene.server.start()
    back = time.time()
    wait_for(lambda: events(scene.police, "camera_restored"), 30, "camera_restored")
    time.sleep(3.0)  # frames of the new session are analysed
    assert len(ended()) == 1 and end["time"] < utc_iso(back)
    code, _ = scene.node.terminate()
    assert code == 0
