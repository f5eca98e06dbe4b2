"""``edge receive bench``: simulate a fleet of nodes into a receiver process; print figures."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, SubParsers

if TYPE_CHECKING:
    from edge.receiver.config import ReceiverConfig


def register(actions: SubParsers) -> None:
    """Add `edge receive bench`."""
    b = actions.add_parser(
        "bench",
        help="simulated nodes -> private broker -> a receiver process on the config's store",
        description="Starts a private mosquitto and one receiver process (edge receive) on "
        "the store the config names, enrols N simulated nodes and publishes their signed "
        "events, heartbeats and small clips; prints committed events/s and publish-to-"
        "committed latency. The config's broker is not used.",
    )
    b.add_argument(
        "mode",
        nargs="?",
        choices=("fleet", "console"),
        default="fleet",
        help="fleet (default): the ingest run above; console: N alerts committed into a "
        "store (SQLite: a temporary file; PostgreSQL: the config's, which must hold no "
        "events), then the console's first page and filtered pages timed",
    )
    b.add_argument("--alerts", type=int, default=100_000, help="console: alerts stored")
    b.add_argument("--nodes", type=int, default=500, help="simulated nodes")
    b.add_argument("--events-per-node-per-min", type=float, default=6.0, help="event rate")
    b.add_argument("--seconds", type=float, default=20.0, help="length of the run")
    b.add_argument("--heartbeat-s", type=float, default=60.0, help="heartbeat interval")
    b.add_argument(
        "--backlog",
        type=int,
        default=10_000,
        help="events queued while the receiver is stopped, then drained (0: skip)",
    )
    b.add_argument("--json", action="store_true", help="machine-readable")


def handle(args: argparse.Namespace, cfg: ReceiverConfig) -> int:
    """Run the simulation and print its figures."""
    if args.mode == "console":
        from edge.bench.console import run as run_console

        store = cfg.receiver.store
        try:
            figures = run_console(None if store == "sqlite" else store, args.alerts)
        except ValueError as e:
            print(f"edge receive bench console: {e}", file=sys.stderr)
            return EXIT_FAILED
        return _print(figures, args.json)
    from edge.bench.receiver import BenchPlan, run

    plan = BenchPlan(
        nodes=args.nodes,
        events_per_node_per_min=args.events_per_node_per_min,
        seconds=args.seconds,
        heartbeat_s=args.heartbeat_s,
        store=cfg.receiver.store,
        backlog=args.backlog,
    )
    return _print(run(plan), args.json)


def _print(figures: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k}: {v}")
    return EXIT_OK
