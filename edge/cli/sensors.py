"""``edge sensors``: a live table of every GPIO input, for checking the wiring."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.cli.asservice import node_config
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers


def register(sub: SubParsers) -> None:
    """Add `edge sensors`."""
    p = sub.add_parser("sensors", help="live table of every GPIO input, for wiring (Ctrl-C)")
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument("--json", action="store_true", help="print one snapshot as JSON")
    p.add_argument("--once", action="store_true", help="print the table once")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Open every configured input; print its state as JSON, once, or live until Ctrl-C."""
    import time

    from edge.events.context import EventFactory
    from edge.sensors.contacts import ContactInput
    from edge.sensors.pins import make_pin_factory

    cfg = node_config(args.config)
    if not cfg.sensors:
        print(f"{args.config}: no sensors configured", file=sys.stderr)
        return EXIT_USAGE
    try:
        factory = make_pin_factory(cfg)
        inputs = [
            ContactInput(
                s, EventFactory(cfg.node.id, cfg.node.site), lambda _e: None, pin_factory=factory
            )
            for s in cfg.sensors
        ]
    except Exception as e:  # gpiozero: no GPIO chip, pin in use by the running daemon
        print(
            f"sensors: cannot open the pins ({type(e).__name__}: {e}); is the node "
            "service running? stop it first",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for i in inputs:
        i.start()
    try:
        if args.json:
            print(json.dumps([i.status() for i in inputs]))
            return EXIT_OK
        while True:
            table = _sensor_table([i.status() for i in inputs])
            if args.once:
                print(table)
                return EXIT_OK
            print("\x1b[2J\x1b[H" + table + "\n\n(Ctrl-C to stop)", flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        for i in inputs:
            i.close()


def _sensor_table(rows: list[dict[str, Any]]) -> str:
    """One line per input status, under a header."""
    import datetime as dt

    lines = [
        f"{'sensor':<18}{'kind':<8}{'pin':>4}  {'state':<9}{'contact':<8}{'changes':>8}"
        f"{'edges':>7}  last change"
    ]
    for r in rows:
        when = (
            dt.datetime.fromtimestamp(r["last_change"]).strftime("%H:%M:%S")
            if r["last_change"]
            else "-"
        )
        state = "FLAPPING" if r["flapping"] else ("ACTIVE" if r["active"] else "idle")
        lines.append(
            f"{r['name']:<18}{r['kind']:<8}{r['pin']:>4}  {state:<9}"
            f"{r['contact']:<8}{r['changes']:>8}{r['edges']:>7}  {when}"
        )
    return "\n".join(lines)
