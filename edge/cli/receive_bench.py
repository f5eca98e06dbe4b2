"""``edge receive bench``: simulate a fleet of nodes into a receiver process; print figures."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from edge.cli.common import EXIT_OK, SubParsers

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
    from edge.bench.receiver import BenchPlan, run

    plan = BenchPlan(
        nodes=args.nodes,
        events_per_node_per_min=args.events_per_node_per_min,
        seconds=args.seconds,
        heartbeat_s=args.heartbeat_s,
        store=cfg.receiver.store,
        backlog=args.backlog,
    )
    figures = run(plan)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k}: {v}")
    return EXIT_OK
