"""``edge receive bench``: a simulated fleet through a real broker into a receiver process.

N simulated nodes (each its own Ed25519 key, enrolled) publish signed events at a steady
rate over mutual TLS to a private mosquitto, with a heartbeat per node every
``heartbeat_s`` and a small clip now and then; one receiver runs as its own process (``edge
receive``) on the given store. Reported: events committed per second, and publish-to-
committed latency (the time the publisher handed the event to MQTT to the time the
receiver's commit wrote its row; one machine, one clock)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.bench.fleet import Publisher, SimNode, Wire, fleet
from edge.core.lifecycle import Worker
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.store.store import ReceiverStore


@dataclass(frozen=True)
class BenchPlan:
    """What to simulate."""

    nodes: int = 500
    events_per_node_per_min: float = 6.0
    seconds: float = 20.0
    heartbeat_s: float = 60.0
    clips_per_min: float = 6.0
    """Small clips (64 KiB, 2 chunks) per minute across the fleet."""
    publishers: int = 4
    store: str = "sqlite"
    backlog: int = 10_000
    """Events queued at the broker while the receiver is stopped, then drained: the most a
    receiver process commits per second (0: skip)."""


def _schedule(
    plan: BenchPlan, nodes: list[SimNode], clip: Path
) -> list[tuple[float, SimNode, Wire, str]]:
    """(offset s, node, message, event id or "") sorted by time: every message pre-signed."""
    out: list[tuple[float, SimNode, Wire, str]] = []
    per_node = plan.events_per_node_per_min / 60 * plan.seconds
    total = round(per_node * len(nodes))
    for i in range(total):
        node = nodes[i % len(nodes)]
        wire = node.event("person", seq=i)
        event_id = dict(wire[2])["id"]
        out.append((i * plan.seconds / max(1, total), node, wire, event_id))
    beats = max(1, round(plan.seconds / plan.heartbeat_s))
    for b in range(beats):
        for j, node in enumerate(nodes):
            t = (b + j / len(nodes)) * plan.heartbeat_s
            if t < plan.seconds:
                out.append((t, node, node.heartbeat(), ""))
    clips = round(plan.clips_per_min / 60 * plan.seconds)
    for c in range(clips):
        node = nodes[(c * 7) % len(nodes)]
        out.extend(
            (c * plan.seconds / max(1, clips), node, w, "") for w in node.clip(clip, 32 * 1024)
        )
    return sorted(out, key=lambda x: x[0])


def _publish(pub: Publisher, items: list[tuple[float, SimNode, Wire, str]], start: float,
             sent: dict[str, float]) -> None:  # fmt: skip
    for offset, node, wire, event_id in items:
        delay = start + offset - time.time()
        if delay > 0:
            time.sleep(delay)
        if event_id:
            sent[event_id] = time.time()
        pub.publish(node, wire)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def run(plan: BenchPlan, workdir: Path | None = None) -> dict[str, Any]:
    """Run the simulation; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="edge-rxbench-") as tmp:
        base = workdir or Path(tmp)
        return _run(plan, base)


class _Rig:
    """Broker, store, publishers and the receiver process of one bench run."""

    def __init__(self, plan: BenchPlan, base: Path) -> None:
        self.base = base
        ca = DemoCA(base / "pki")
        self.broker = LocalBroker(
            base / "broker",
            ca,
            persistence=True,
            max_queued_messages=1_000_000,
            max_inflight_messages=1000,
        )
        self.broker.start()
        rx_pair = ca.issue("receiver-bench")
        data = base / "rx"
        self.conf = base / "receiver.toml"
        self.conf.write_text(
            f'[receiver]\nname = "bench"\ndata_dir = "{data}"\nstore = "{plan.store}"\n'
            f'[broker]\nhost = "localhost"\nport = {self.broker.tls_port}\n'
            f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{rx_pair.cert}"\nkey = "{rx_pair.key}"\n'
        )
        url = plan.store if plan.store != "sqlite" else f"sqlite:///{data / 'receiver.db'}"
        self.store = ReceiverStore(url, data)
        self.nodes = list(fleet(plan.nodes))
        for n in self.nodes:
            self.store.enrol(n.site, n.node, n.key.pem, replace=True, reason="bench: new keys")
        pair = ca.issue("sim-fleet")
        self.pubs = [Publisher(self.broker.tls_port, ca.ca_path, pair.cert, pair.key)
                     for _ in range(plan.publishers)]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = base / "receiver.log"

    def start_receiver(self) -> subprocess.Popen[bytes]:
        self.log.write_bytes(b"")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "receive", "--config", str(self.conf)],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_subscribed(self.log, self.proc)
        return self.proc

    def stop_receiver(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def publish(self, schedule: list[tuple[float, SimNode, Wire, str]]) -> dict[str, float]:
        sent: dict[str, float] = {}
        start = time.time() + 0.2
        publishers = Worker("bench-publishers")
        for i, p in enumerate(self.pubs):
            publishers.spawn(_publish, f"bench-publish-{i}", p, schedule[i :: len(self.pubs)],
                             start, sent)  # fmt: skip
        publishers.join()
        for p in self.pubs:
            p.wait_acked()
        return sent

    def wait_stored(self, n: int, timeout: float) -> None:
        deadline = time.time() + timeout
        while _count(self.store) < n and time.time() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self.stop_receiver()
        for p in self.pubs:
            p.close()
        self.store.close()
        self.broker.stop()


def _run(plan: BenchPlan, base: Path) -> dict[str, Any]:
    rig = _Rig(plan, base)
    clip = base / "clip.mp4"
    clip.write_bytes(os.urandom(64 * 1024))
    try:
        schedule = _schedule(plan, rig.nodes, clip)
        events = sum(1 for s in schedule if s[3])
        proc = rig.start_receiver()
        cpu0 = _cpu(proc.pid)
        sent = rig.publish(schedule)
        rig.wait_stored(events, 60 + plan.seconds)
        cpu = _cpu(proc.pid) - cpu0
        rows = rig.store.db.query("SELECT id, received FROM events")
        drained = _drain(rig, plan) if plan.backlog else None
    finally:
        rig.close()
    latency = [float(r) - sent[str(i)] for i, r in rows if str(i) in sent]
    return {
        "store": plan.store.split("@")[-1] if plan.store != "sqlite" else "sqlite",
        "nodes": plan.nodes, "offered_events_per_s": round(events / plan.seconds, 1),
        "events_sent": events, "events_stored": len(rows),
        "latency_ms": {k: round(_pct(latency, q) * 1000, 1)
                       for k, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))},
        "receiver_cpu_ms_per_event": round(cpu / max(1, len(rows)) * 1000, 3),
        "messages_published": len(schedule),
        "backlog": drained,
    }  # fmt: skip


def _drain(rig: _Rig, plan: BenchPlan) -> dict[str, Any]:
    """Queue *plan.backlog* events while the receiver is stopped; time their commit."""
    rig.stop_receiver()
    before = _count(rig.store)
    items = [(0.0, n, n.event("person"), "") for n in
             (rig.nodes[i % len(rig.nodes)] for i in range(plan.backlog))]  # fmt: skip
    rig.publish(items)
    proc = rig.start_receiver()
    cpu0 = _cpu(proc.pid)
    rig.wait_stored(before + plan.backlog, 120)
    cpu = _cpu(proc.pid) - cpu0
    times = [float(r[0]) for r in rig.store.db.query(
        "SELECT received FROM events ORDER BY seq DESC LIMIT ?", (plan.backlog,))]  # fmt: skip
    span = max(times) - min(times) if len(times) > 1 else 0.0
    return {
        "events": plan.backlog,
        "stored": _count(rig.store) - before,
        "committed_events_per_s": round(len(times) / span, 1) if span else None,
        "receiver_cpu_ms_per_event": round(cpu / max(1, len(times)) * 1000, 3),
    }


def _count(store: ReceiverStore) -> int:
    return int(store.db.query("SELECT COUNT(*) FROM events")[0][0])


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_subscribed(log: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until the receiver logged its subscription (or exited)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the receiver exited with {proc.returncode}: see {log}")
        if b"receiver.subscribed" in log.read_bytes():
            return
        time.sleep(0.1)
    raise RuntimeError(f"the receiver did not subscribe within {timeout} s: see {log}")
