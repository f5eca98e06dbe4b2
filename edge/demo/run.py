"""``edge demo``: the product end to end on one machine.

A private mosquitto with mutual TLS, the node replaying a sample video with a door contact on
gpiozero's MockFactory, and a police-side subscriber that prints what arrives.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from edge.config.loader import load
from edge.config.root import EdgeConfig
from edge.core.lifecycle import Worker
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.demo.subscriber import Received, Subscriber
from edge.evidence.keyinit import init_key
from edge.evidence.keys import NodeKey, public_pem
from edge.node.node import Node
from edge.node.replay import drain, flush_clips, wait_cameras
from edge.receiver.config import loads as receiver_loads
from edge.receiver.service import Receiver

DEFAULT_VIDEO = Path("../shared/data/videos/one-by-one-person-detection.mp4")
DEFAULT_MODEL = Path("../shared/models/yolox_nano/yolox_nano.onnx")
DOOR_PIN = 17

_CONFIG = """\
# Written by `edge demo`: a node config like a technician's, pointing at a private broker.
[node]
id = "demo-node"
site = "demo-site"
data_dir = "{data}"

[gpio]
factory = "mock"
{detector}

[[cameras]]
name = "hall"
fps = 5
detect = {{ kind = "file", path = "{video}", realtime = {realtime} }}

[[sensors]]
name = "loading-door"
kind = "door"
pin = {pin}
active_when = "open"
cameras = ["hall"]

[[destinations]]
name = "police"
host = "localhost"
port = {port}
tls = {{ ca = "{ca}", cert = "{cert}", key = "{key}" }}
kinds = ["*"]
"""


def _describe(event: dict[str, Any]) -> str:
    where = event.get("camera") or event.get("sensor") or "-"
    data = event.get("data") or {}
    extra = " ".join(f"{k}={v}" for k, v in sorted(data.items()))
    return f"{event['kind']:<12} {event['state']:<6} {event['severity']:<8} {where:<13} {extra}"


def _describe_manifest(signed: dict[str, Any], public: list[Any]) -> str:
    from edge.core.errors import EvidenceError
    from edge.evidence.manifest import verify_manifest

    m = signed["manifest"]
    try:
        verify_manifest(signed, public[0])
        check = "signature OK"
    except EvidenceError as e:
        check = f"SIGNATURE BAD: {e}"
    return (
        f"{'clip':<12} {m['method']:<6} {'':<8} {m['camera']:<13} {m['duration_s']:.1f} s, "
        f"{m['size'] / 1e6:.1f} MB, sha256 {m['sha256'][:12]}..., {check}"
    )


def run_demo(
    video: Path | None = None,
    *,
    model: Path | None = None,
    realtime: bool = False,
    out: TextIO | None = None,
    as_json: bool = False,
) -> int:
    """Run the demo; returns the exit status (0: every accepted event reached the police)."""
    stream = out or sys.stdout
    video = (video or DEFAULT_VIDEO).resolve()
    if not video.is_file():
        print(f"demo: video not found: {video}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="edge-demo-") as tmp:
        root = Path(tmp)
        ca = DemoCA(root / "pki")
        broker = LocalBroker(root / "broker", ca)
        broker.start()
        try:
            return _run(
                root,
                ca,
                broker,
                video,
                model=model or DEFAULT_MODEL,
                realtime=realtime,
                out=stream,
                as_json=as_json,
            )
        finally:
            broker.stop()


def _run(
    root: Path,
    ca: DemoCA,
    broker: LocalBroker,
    video: Path,
    *,
    model: Path,
    realtime: bool,
    out: TextIO,
    as_json: bool,
) -> int:
    note = sys.stderr if as_json else out  # with --json, stdout carries the JSON alone
    police_pair = ca.issue("police-receiver")
    cfg, detector = _node_config(root, ca, broker, video, model, realtime=realtime, note=note)
    started = time.time()

    public: list[Any] = []  # the node's key, as the police would hold it from `edge keys export`

    def show(msg: Received) -> None:
        if as_json:
            return
        stamp = f"[police +{msg.at - started:6.2f}s]"
        if msg.topic.endswith("/events"):
            print(f"{stamp} {_describe(msg.json())}", file=out, flush=True)
        elif msg.topic.endswith("/manifest"):
            print(f"{stamp} {_describe_manifest(msg.json(), public)}", file=out, flush=True)

    police = Subscriber(broker.tls_port, str(ca.ca_path), police_pair, on_message=show)
    police.start()
    receiver = _receiver(root, ca, broker, cfg)  # stores and verifies, as the police would
    print(
        f"demo: broker mosquitto on 127.0.0.1:{broker.tls_port} (mutual TLS), replaying "
        f"{video.name}, person detector {model.name if detector else 'none'}, door contact on "
        f"mock GPIO{DOOR_PIN}",
        file=note,
        flush=True,
    )
    node = Node(cfg)
    public.append(node.key.public)
    door = node.pin_factory.pin(DOOR_PIN)
    door.drive_low()  # contact closed: door shut
    node.start()
    camera = node.cameras[0]
    fps = cfg.cameras[0].fps

    def open_and_close_door() -> None:
        # Door opens at 4 s of video and closes at 12 s, while the camera watches.
        while camera.frames_analysed < 4 * fps and not camera.join(0.01):
            time.sleep(0.005)
        door.drive_high()
        while camera.frames_analysed < 12 * fps and not camera.join(0.01):
            time.sleep(0.005)
        door.drive_low()

    door_thread = Worker("demo-door").spawn(open_and_close_door, "demo-door")
    wait_cameras(node)
    door_thread.join(5)
    flush_clips(node)
    delivered = drain(node, timeout=20)
    accepted = dict(node.sink.counts)
    expected = sum(accepted.values())
    police.wait_for(lambda m: sum(x.topic.endswith("/events") for x in m) >= expected, 10)
    node.stop()
    police.wait_for(
        lambda m: any(x.topic.endswith("/status") and b"offline" in x.payload for x in m), 3
    )
    police.stop()

    return _report(
        police.events(),
        node,
        camera.frames_analysed,
        video,
        started,
        clips_received=sum(1 for m in police.messages if m.topic.endswith("/manifest")),
        delivered=delivered,
        stored=_stored(receiver, expected, node.finalizer.written),
        out=out,
        as_json=as_json,
    )


def _node_config(
    root: Path,
    ca: DemoCA,
    broker: LocalBroker,
    video: Path,
    model: Path,
    *,
    realtime: bool,
    note: TextIO,
) -> tuple[EdgeConfig, str]:
    """The demo node's config (written and loaded) with its signing key made, and its
    [detector] section ("" without a model)."""
    node_pair = ca.issue("demo-node")
    cfg_path = root / "node.toml"
    detector = ""
    if model.is_file():
        detector = f'[detector]\nbackend = "onnx"\nmodel = "{model.resolve()}"\n'
    else:
        print(f"demo: no model at {model}: motion events only", file=note)
    cfg_path.write_text(
        _CONFIG.format(
            detector=detector,
            data=root / "data",
            video=video,
            realtime=str(realtime).lower(),
            pin=DOOR_PIN,
            port=broker.tls_port,
            ca=ca.ca_path,
            cert=node_pair.cert,
            key=node_pair.key,
        )
    )
    cfg = load(cfg_path)
    init_key(cfg.key_path, cfg.audit_path)  # as an installer does: `edge keys init`
    return cfg, detector


def _receiver(root: Path, ca: DemoCA, broker: LocalBroker, node: EdgeConfig) -> Receiver:
    """The police receiver (SQLite), as `edge receive` runs it, with the node's public key
    enrolled (as `edge receive enrol` does from `edge keys export`), subscribed."""
    pair = ca.issue("receiver-demo")
    cfg = receiver_loads(
        f'[receiver]\nname = "demo"\ndata_dir = "{root / "police"}"\n'
        f'[broker]\nhost = "localhost"\nport = {broker.tls_port}\n'
        f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
    )
    receiver = Receiver(cfg)
    public = public_pem(NodeKey(node.key_path).public)
    receiver.store.enrol(node.node.site, node.node.id, public)
    receiver.start()
    receiver.ingest.subscribed.wait(10)
    return receiver


def _stored(receiver: Receiver, events: int, clips: int, timeout: float = 20) -> dict[str, int]:
    """What the receiver verified and stored, once it has everything (or *timeout*)."""

    def counts() -> dict[str, int]:
        db = receiver.store.db
        return {
            "events": int(db.query("SELECT COUNT(*) FROM events")[0][0]),
            "clips_verified": int(
                db.query("SELECT COUNT(*) FROM clips WHERE state = 'complete'")[0][0]
            ),
            "quarantined": int(db.query("SELECT COUNT(*) FROM quarantine")[0][0]),
        }

    deadline = time.monotonic() + timeout
    now = counts()
    while (now["events"] < events or now["clips_verified"] < clips) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
        now = counts()
    receiver.stop()
    return now


def _report(
    received: list[dict[str, Any]],
    node: Node,
    frames: int,
    video: Path,
    started: float,
    *,
    clips_received: int,
    delivered: bool,
    stored: dict[str, int],
    out: TextIO,
    as_json: bool,
) -> int:
    accepted = dict(node.sink.counts)
    expected = sum(accepted.values())
    by_kind = Counter(e["kind"] for e in received)
    ids = [e["id"] for e in received]
    summary = {
        "video": str(video),
        "frames_analysed": frames,
        "accepted": accepted,
        "received": dict(by_kind),
        "duplicates": len(ids) - len(set(ids)),
        "clips": f"{node.finalizer.written} signed, {clips_received} manifests received",
        "all_delivered": delivered and len(set(ids)) >= expected,
        "receiver": stored,
        "seconds": round(time.time() - started, 2),
    }
    ok = (
        bool(summary["all_delivered"])
        and by_kind["door_open"] > 0
        and (by_kind["motion"] + by_kind["person"] > 0)
        and clips_received == node.finalizer.written
        and stored["events"] >= expected
        and stored["clips_verified"] == node.finalizer.written
        and stored["quarantined"] == 0
    )
    if as_json:
        print(json.dumps({**summary, "events": received, "ok": ok}, indent=2), file=out)
    else:
        print("demo summary:", file=out)
        for k, v in summary.items():
            print(f"  {k:<16} {v}", file=out)
        print(f"demo: {'OK' if ok else 'FAILED'}", file=out)
    return 0 if ok else 1
