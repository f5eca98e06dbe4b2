"""``edge receive bench console``: a store filled with N alerts of a simulated fleet
(through the store's own commit, so occurrences and incidents are kept as at ingest), most
incidents already handled by officers; then the console's queries timed: the first page,
a page filtered by site, by severity and to the unacknowledged, the "N new" count and the
unacknowledged counter. Figures in milliseconds (the median of several runs, and the
slowest)."""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edge.core.ids import new_id
from edge.receiver.messages import Accepted, Part
from edge.receiver.store import console
from edge.receiver.store.store import ReceiverStore

DAY = 86400.0
KINDS: tuple[tuple[str, str, float, bool], ...] = (
    ("motion", "info", 0.30, True),
    ("person", "alarm", 0.28, True),
    ("door_open", "warning", 0.22, True),
    ("door_left_open", "alarm", 0.08, True),
    ("lights_off", "warning", 0.05, True),
    ("smoke", "critical", 0.03, True),
    ("camera_tampered", "critical", 0.02, True),
    ("clip_lost", "warning", 0.02, False),
)
"""(kind, severity, share, lasts: START..END rather than INSTANT)."""


def event(
    site: str, node: str, kind: str, severity: str, state: str, *, when: float, **more: Any
) -> Accepted:
    """One event as the store receives it once checked (the signature is not the store's
    business). *more*: occurrence, incident, camera, sensor, zones, clip_id, snapshot_id."""
    event_id = new_id()
    body: dict[str, Any] = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": kind,
        "severity": severity, "state": state, "occurrence": more.pop("occurrence", event_id),
        "incident": None, "node": node, "site": site, "clock_synced": True,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
        + f".{int(when * 1000) % 1000:03d}Z",
        "camera": "gudang-1", "sensor": None, "zones": ["lorong"], "clip_id": None,
        "snapshot_id": None, "data": {},
    }  # fmt: skip
    body.update(more)
    payload = json.dumps(body, separators=(",", ":")).encode()
    return Accepted(Part.EVENT, site, node, event_id, hashlib.sha256(payload).hexdigest(),
                    payload, f"warehouse/{site}/{node}/events", body)  # fmt: skip


def fleet_alerts(
    n: int, *, nodes: int = 60, sites: int = 50, days: float = 30.0, seed: int = 21
) -> Iterator[Accepted]:
    """About *n* events of *nodes* nodes on *sites* sites over *days* days, oldest first:
    incidents of one or two occurrences (a door and then a person), each occurrence a
    START and an END or one INSTANT; info and motion mixed in."""
    rng = random.Random(seed)  # noqa: S311 - a repeatable workload, not a secret
    weights = [k[2] for k in KINDS]
    start = time.time() - days * DAY
    step = days * DAY / max(1, n)
    made, t = 0, start
    while made < n:
        i = rng.randrange(nodes)
        site, node = f"site-{i % sites:02d}", f"gudang-{i:02d}"
        incident = new_id()
        for _ in range(1 + (rng.random() < 0.3)):
            kind, severity, _, lasts = rng.choices(KINDS, weights)[0]
            occurrence = new_id()
            states = ("start", "end") if lasts else ("instant",)
            for state in states:
                if made >= n:
                    return
                t += step
                yield event(site, node, kind, severity, state, when=t,
                            occurrence=occurrence, incident=incident)  # fmt: skip
                made += 1


def fill(store: ReceiverStore, n: int, *, batch: int = 500, handled: float = 0.8) -> float:
    """Commit *n* fleet alerts into *store* in batches; then mark a share *handled* of the
    incidents acknowledged or closed (as officers would have). Seconds it took."""
    t0 = time.perf_counter()
    pending: list[Accepted] = []
    for a in fleet_alerts(n):
        pending.append(a)
        if len(pending) >= batch:
            store.commit(pending)
            pending = []
    store.commit(pending)
    with store.db.transaction() as cur:
        cur.execute(
            "UPDATE incidents SET status = CASE WHEN seq - seq / 3 * 3 = 0"
            " THEN 'acknowledged' ELSE 'closed' END, acked_by = 'bench', acked_at = last_time"
            " WHERE seq - seq / 100 * 100 < ?",
            (int(handled * 100),),
        )
    return time.perf_counter() - t0


def _timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, slowest) milliseconds of *runs* calls."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1), round(max(times), 1)


def measure(store: ReceiverStore, runs: int = 5) -> dict[str, Any]:
    """Time the console's queries on *store* (see the module)."""
    db = store.db
    newest = console.newest_seq(db)
    queries: dict[str, Callable[[], object]] = {
        "first_page": lambda: console.incidents(db, console.ConsoleQuery()),
        "site": lambda: console.incidents(db, console.ConsoleQuery(site="site-07")),
        "severity": lambda: console.incidents(db, console.ConsoleQuery(severity="critical")),
        "unacked": lambda: console.incidents(db, console.ConsoleQuery(unacked=True)),
        "site_unacked_alarm": lambda: console.incidents(
            db, console.ConsoleQuery(site="site-07", unacked=True, min_rank=2)
        ),
        "older_page": lambda: console.incidents(db, console.ConsoleQuery(before_seq=newest // 2)),
        "count_after": lambda: console.count_after(db, console.ConsoleQuery(), newest - 5000),
        "unacked_counts": lambda: console.unacked(db),
    }
    out: dict[str, Any] = {}
    for name, fn in queries.items():
        median, slowest = _timed(fn, runs)
        out[f"{name}_ms"] = median
        out[f"{name}_max_ms"] = slowest
    return out


def run(url: str | None, n: int, runs: int = 5) -> dict[str, Any]:
    """Fill a store (*url*; None: a temporary SQLite file) with *n* alerts and time the
    console's queries. A store that already holds events is refused."""
    with tempfile.TemporaryDirectory(prefix="edge-console-bench-") as tmp:
        data = Path(tmp)
        store = ReceiverStore(url or f"sqlite:///{data / 'receiver.db'}", data)
        try:
            held = int(store.db.query("SELECT COUNT(*) FROM events")[0][0])
            if held:
                raise ValueError(f"the bench needs an empty store; this one holds {held} events")
            fill_s = fill(store, n)
            counts = store.db.query(
                "SELECT COUNT(*), SUM(CASE WHEN status = 'new' THEN 1 ELSE 0 END) FROM incidents"
            )[0]
            figures: dict[str, Any] = {
                "store": store.db.engine,
                "alerts": n,
                "incidents": int(counts[0]),
                "incidents_new": int(counts[1] or 0),
                "fill_s": round(fill_s, 1),
            }
            figures.update(measure(store, runs))
            return figures
        finally:
            store.close()
