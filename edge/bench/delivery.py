"""``edge bench delivery``: the outbox and MQTT link against a local mosquitto over mutual TLS.

Four measurements, each with a fresh outbox: latency from accept (durable put) to PUBACK at a
steady event rate; the most events per second the link sustains; the time to drain a backlog
built while the broker was unreachable; and clip throughput in MB/s (file-backed chunks)."""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig, TlsConfig
from edge.core.ids import new_id
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.link.mqtt import MqttLink
from edge.outbox.chunks import clip_messages
from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.store import Outbox


class _Acks:
    def __init__(self) -> None:
        self.latency: list[float] = []
        self.count = 0
        self.bytes = 0
        self.done = threading.Event()
        self.target = 0
        self.lock = threading.Lock()

    def __call__(self, _dest: str, delivered: list[Pending]) -> None:
        now = time.time()
        with self.lock:
            for p in delivered:
                self.latency.append(now - p.message.created)
                self.bytes += p.message.length or len(p.message.payload)
            self.count += len(delivered)
            if self.target and self.count >= self.target:
                self.done.set()


def _event(i: int) -> OutboxMessage:
    payload = (
        b'{"schema":"warehouse-edge/event/1","kind":"person","seq":%d,"pad":"' % i
        + b"x" * 300
        + b'"}'
    )
    return OutboxMessage(new_id(), Priority.EVENT, "person", "events", payload, time.time())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _link(dest: DestinationConfig, outbox: Outbox, acks: _Acks) -> MqttLink:
    return MqttLink(dest, NodeConfig(id="bench", site="bench"), outbox, window=64, on_ack=acks)


def _steady(dest: DestinationConfig, work: Path, rate: float, seconds: float) -> dict[str, Any]:
    outbox, acks = Outbox(work / "o1.sqlite"), _Acks()
    link = _link(dest, outbox, acks)
    link.start()
    link.wait_connected(10)
    n = int(rate * seconds)
    acks.target = n
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        outbox.put(_event(i), ["bench"])
        link.wake()
    acks.done.wait(60)
    link.shutdown()
    return {
        "events": n,
        "rate_per_s": rate,
        "p50_ms": round(1000 * statistics.median(acks.latency), 2),
        "p99_ms": round(1000 * _pct(acks.latency, 0.99), 2),
        "max_ms": round(1000 * max(acks.latency), 2),
    }


def _sustained(dest: DestinationConfig, work: Path, burst: int) -> dict[str, Any]:
    outbox, acks = Outbox(work / "o2.sqlite"), _Acks()
    link = _link(dest, outbox, acks)
    link.start()
    link.wait_connected(10)
    acks.target = burst
    t0 = time.perf_counter()
    for i in range(burst):  # one durable put (one disk flush) per event, as the node does
        outbox.put(_event(i), ["bench"])
        link.wake()
    acks.done.wait(120)
    took = time.perf_counter() - t0
    link.shutdown()
    return {"events": burst, "seconds": round(took, 2), "events_per_s": round(burst / took, 1)}


def _drain(dest: DestinationConfig, outbox: Outbox, count: int) -> float:
    acks = _Acks()
    acks.target = count
    link = _link(dest, outbox, acks)
    t0 = time.perf_counter()
    link.start()
    acks.done.wait(300)
    took = time.perf_counter() - t0
    link.shutdown()
    return took


def run(
    work: Path,
    *,
    rate: float = 100.0,
    seconds: float = 10.0,
    burst: int = 5000,
    backlog: int = 10_000,
    clip_mb: float = 20.0,
) -> dict[str, Any]:
    """All four measurements; *work* holds the broker, the certificates and the outboxes."""
    ca = DemoCA(work / "pki")
    broker = LocalBroker(work / "broker", ca)
    broker.start()
    client = ca.issue("bench-node")
    dest = DestinationConfig(
        name="bench",
        host="localhost",
        port=broker.tls_port,
        tls=TlsConfig(ca=str(ca.ca_path), cert=str(client.cert), key=str(client.key)),
    )
    out: dict[str, Any] = {"broker": "mosquitto (mutual TLS, 127.0.0.1)"}
    try:
        out["steady"] = _steady(dest, work, rate, seconds)
        out["sustained"] = _sustained(dest, work, burst)
        outbox = Outbox(work / "o3.sqlite")
        outbox.put_many([_event(i) for i in range(backlog)], ["bench"])  # built while offline
        took = _drain(dest, outbox, backlog)
        out["backlog"] = {
            "events": backlog,
            "drain_s": round(took, 2),
            "events_per_s": round(backlog / took, 1),
        }
        clip = work / "clip.mp4"
        clip.write_bytes(os.urandom(int(clip_mb * 1024 * 1024)))
        manifest = {
            "manifest": {"clip_id": "bench-clip", "size": clip.stat().st_size},
            "alg": "Ed25519",
            "key_id": "0" * 16,
            "signature": "",
        }
        outbox = Outbox(work / "o4.sqlite")
        messages = clip_messages(manifest, clip, 256 * 1024)
        outbox.put_many(messages, ["bench"])
        took = _drain(dest, outbox, len(messages))
        out["clips"] = {
            "megabytes": clip_mb,
            "chunks": len(messages) - 1,
            "seconds": round(took, 2),
            "mb_per_s": round(clip_mb / took, 2),
        }
    finally:
        broker.stop()
    return out


def bench_delivery(**kw: Any) -> dict[str, Any]:
    """Run :func:`run` in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        return run(Path(tmp), **kw)


def format_delivery(r: dict[str, Any]) -> str:
    """Human-readable lines."""
    s, u, b, c = r["steady"], r["sustained"], r["backlog"], r["clips"]
    return "\n".join(
        [
            f"broker: {r['broker']}",
            f"steady {s['rate_per_s']:g} events/s x {s['events']}: accept->PUBACK p50 "
            f"{s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms",
            f"sustained: {u['events']} events accepted one by one and delivered in "
            f"{u['seconds']:.1f} s = {u['events_per_s']:.0f} events/s",
            f"backlog: {b['events']} events drained in {b['drain_s']:.1f} s "
            f"({b['events_per_s']:.0f}/s)",
            f"clips: {c['megabytes']:g} MB in {c['chunks']} chunks of 256 KiB in "
            f"{c['seconds']:.2f} s = {c['mb_per_s']:.1f} MB/s",
        ]
    )
