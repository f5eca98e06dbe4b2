"""``edge bench sensors``: from a pin edge to the event on disk in the outbox."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.config.loader import loads
from edge.events.context import EventFactory
from edge.events.model import Event
from edge.events.rules import Rules
from edge.events.scope import CameraScope
from edge.events.sink import EventSink
from edge.outbox.policy import SharingPolicy
from edge.outbox.queue import DeliveryQueue
from edge.outbox.store import Outbox
from edge.sensors.contacts import ContactInput


def bench_sensors(edges: int = 400, spacing_s: float = 0.08) -> dict[str, Any]:
    """Drive a door contact on gpiozero's MockFactory *edges* times and time each edge until
    its event is accepted (recorded by the callback, handed to the input's thread, rules
    applied, committed to the SQLite outbox with fsync)."""
    cfg = loads("""
[node]
id = "bench"
site = "bench"
[[sensors]]
name = "door"
kind = "door"
pin = 17
debounce_s = 0.05
flap_changes = 1000
[[destinations]]
name = "police"
host = "localhost"
allow_insecure = true
""")
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        outbox = Outbox(Path(tmp) / "outbox.sqlite")
        sink = EventSink(DeliveryQueue(outbox, SharingPolicy(cfg.destinations)))
        rules = Rules(cfg.rules, CameraScope.from_config(cfg.sensors))
        done: list[float] = []

        def accept(event: Event) -> None:
            sink.accept(rules.apply(event))
            done.append(time.perf_counter())

        pins = MockFactory()
        pin = pins.pin(17)
        pin.drive_low()
        contact = ContactInput(
            cfg.sensors[0], EventFactory("bench", "bench"), accept, pin_factory=pins
        )
        contact.start()
        latencies = []
        for i in range(edges):
            before = len(done)
            t0 = time.perf_counter()
            (pin.drive_high if i % 2 == 0 else pin.drive_low)()  # the callback records it
            contact.loop.settle(10.0)  # the panel's thread runs the event path
            if len(done) > before:
                latencies.append(done[-1] - t0)
            time.sleep(spacing_s)
        contact.close()
        stored = outbox.total()
        outbox.close()
    ordered = sorted(latencies)
    return {
        "edges": edges,
        "events": len(latencies),
        "stored": stored,
        "p50_ms": round(1000 * statistics.median(ordered), 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 3),
        "max_ms": round(1000 * ordered[-1], 3),
    }


def format_sensors(r: dict[str, Any]) -> str:
    """Human-readable line."""
    return (
        f"pin edge -> outbox accepted (fsync'd): {r['events']} events of {r['edges']} "
        f"edges, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max "
        f"{r['max_ms']:.2f} ms"
    )
