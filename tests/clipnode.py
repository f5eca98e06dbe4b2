"""A real node daemon (``python -m edge run``) watching a real RTSP camera, for the clip and
camera-loss fault tests: its config, its JSON log, and what the police received of it."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import av
from conftest import SHARED
from nodecfg import node_config, tls_destination

from edge.config.loader import loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Received, Subscriber
from edge.evidence.keys import NodeKey
from edge.evidence.manifest import verify_clip

MODEL = SHARED / "models" / "yolox_nano" / "yolox_nano.onnx"
VIDEO = "one-by-one-person-detection.mp4"
"""Each RTSP session replays it from 0: a person walks in at about 6.1 s and stays to 19.4 s."""


def camera_config(
    tmp: Path,
    node: str,
    url: str,
    broker: LocalBroker,
    ca: DemoCA,
    cert: CertPair,
    *,
    uplink_bps: int = 0,
) -> Path:
    """The config file of node *node* (site ``s``): camera ``dock`` on the RTSP stream *url*
    (5 fps detection with yolox_nano, 2 s timeouts, reconnects at most 2 s apart), clips with
    5 s of pre-roll, JSON logs, the police destination on *broker* (with *uplink_bps*: a link
    that slow, clips in 32 KiB chunks)."""
    outbox = "[outbox]\nchunk_size = 32768\n" if uplink_bps else ""
    camera = (
        '[[cameras]]\nname = "dock"\nfps = 5\nreconnect_max_s = 2\nfault_after_s = 5\n'
        f'detect = {{ kind = "rtsp", url = "{url}", open_timeout_s = 2, read_timeout_s = 2 }}\n'
    )
    path = tmp / "node.toml"
    path.write_text(
        node_config(
            tmp / "data",
            node,
            "s",
            extra=f'[logging]\nformat = "json"\n[detector]\nbackend = "onnx"\nmodel = "{MODEL}"\n'
            "[clips]\npre_roll_s = 5\npost_roll_s = 10\n" + outbox,
            cameras=[camera],
            destinations=[
                tls_destination(broker, ca, cert, reconnect_max_s=2, bandwidth_bps=uplink_bps)
            ],
        )
    )
    return path


class NodeRun:
    """``python -m edge run --config CONFIG``, started and stopped as systemd would, its
    stderr (JSON log lines) appended to one file across runs."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the daemon."""
        self._err = self.log.open("ab")
        self._err.write(f'{{"event": "test.run_started", "run": {self.runs + 1}}}\n'.encode())
        self._err.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=self._err,
        )
        self.runs += 1

    def kill(self) -> None:
        """SIGKILL (a crash, the watchdog, the OOM killer)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM; returns the exit code and when it exited (Unix time)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.time()

    def close(self) -> None:
        """Kill what is left (test teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self._err is not None:
            self._err.close()

    def records(self, run: int | None = None) -> list[dict[str, Any]]:
        """The JSON log records (of run *run*, from 1, or all)."""
        out: list[dict[str, Any]] = []
        current = 0
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("event") == "test.run_started":
                current = int(rec["run"])
            elif run is None or current == run:
                out.append(rec)
        return out

    def journal_dir(self) -> Path:
        """Where the node journals the clips it is cutting."""
        return loads(self.config.read_text()).clips_dir / "journal"

    def public_key(self) -> Any:
        """The node's public key (to verify what it signed)."""
        return NodeKey(loads(self.config.read_text()).key_path).public


def wait_for(check: Callable[[], object], timeout: float, what: str) -> Any:
    """Poll *check* until it returns something true; fails after *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def events(police: Subscriber, kind: str, state: str | None = None) -> list[dict[str, Any]]:
    """Events of *kind* (and *state*) received so far, first copies only."""
    seen: dict[str, dict[str, Any]] = {}
    for e in police.events():
        if e["kind"] == kind and state in (None, e["state"]):
            seen.setdefault(e["id"], e)
    return list(seen.values())


def clip_messages(police: Subscriber, clip_id: str) -> tuple[Received | None, dict[int, Received]]:
    """The manifest message and the chunk messages (by number) received of *clip_id*."""
    manifest: Received | None = None
    chunks: dict[int, Received] = {}
    for m in list(police.messages):
        parts = m.topic.split("/")
        if len(parts) >= 2 and parts[-2] == clip_id:
            if parts[-1] == "manifest":
                manifest = manifest or m
            elif parts[-1].isdigit():
                chunks.setdefault(int(parts[-1]), m)
    return manifest, chunks


def complete_clip(police: Subscriber, clip_id: str) -> tuple[dict[str, Any], bytes] | None:
    """The signed manifest and the file of *clip_id* once all of it has arrived."""
    manifest, chunks = clip_messages(police, clip_id)
    if manifest is None:
        return None
    signed = manifest.json()
    if len(chunks) < signed["transfer"]["chunks"]:
        return None
    return signed, b"".join(chunks[i].payload for i in sorted(chunks))


def check_clip(signed: dict[str, Any], data: bytes, public: Any) -> int:
    """Verify the signed manifest and the file against it; returns the frames PyAV decodes
    (every packet must decode)."""
    verify_clip(signed, public, data)
    with av.open(io.BytesIO(data), "r") as c:
        stream = c.streams.video[0]
        packets = sum(bool(p.size) for p in c.demux(stream))
    with av.open(io.BytesIO(data), "r") as c:
        frames = len(list(c.decode(c.streams.video[0])))
    assert frames == packets > 0, (frames, packets)
    return frames
