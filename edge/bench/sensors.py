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
    applied, committed to the SQLite outbox with fsync).

    The door starts shut (no event), so each edge driven is a change: ``changes`` (edges the
    input saw), ``events`` (timed: accepted before the edge's wait ended), ``accepted`` and
    ``stored`` (events on disk) all equal ``edges`` when nothing is missed."""
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
        contact = ContactInput(
            cfg.sensors[0], EventFactory("bench", "bench"), accept, pin_factory=pins
        )
        # The baseline: opening the input turns its pull-up on, which drives a mock pin
        # high (contact open: door open). Close the loop *before* watching begins, so the
        # door starts shut with no event and each of the *edges* drives is a real change.
        pin.drive_low()
        contact.start()
        at_start = len(done)
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
        changes = contact.edges
        stored = outbox.total()
        outbox.close()
    ordered = sorted(latencies)
    return {
        "edges": edges,
        "changes": changes,
        "at_start": at_start,
        "events": len(latencies),
        "accepted": len(done),
        "stored": stored,
        "p50_ms": round(1000 * statistics.median(ordered), 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 3),
        "max_ms": round(1000 * ordered[-1], 3),
    }


def format_sensors(r: dict[str, Any]) -> str:
    """Human-readable line; a shortfall says which count falls short (an edge the input did
    not see, an event not timed, an event not on disk), never a bare "N of M"."""
    line = (
        f"pin edge -> outbox accepted (fsync'd): {r['events']} events of {r['edges']} "
        f"edges, {r['stored']} stored, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
        f"max {r['max_ms']:.2f} ms"
    )
    notes = []
    if r["changes"] != r["edges"]:
        notes.append(f"the input saw {r['changes']} of the {r['edges']} edges driven")
    if r["at_start"]:
        notes.append(f"{r['at_start']} event(s) at start, before the first edge (not timed)")
    late = r["accepted"] - r["at_start"] - r["events"]
    if late:
        notes.append(f"{late} event(s) accepted after their edge's wait (not timed)")
    if r["accepted"] - r["at_start"] < r["changes"]:
        missing = r["changes"] - (r["accepted"] - r["at_start"])
        notes.append(f"{missing} edge(s) made no event (debounce or flapping)")
    if r["stored"] < r["accepted"]:
        notes.append(f"LOST: {r['accepted'] - r['stored']} accepted event(s) not on disk")
    return line + "".join(f"\n  note: {n}" for n in notes)
