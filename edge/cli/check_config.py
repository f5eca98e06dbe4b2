"""``edge check-config``: validate a node config; exit 2 naming each fault."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edge.cli.common import EXIT_OK, EXIT_USAGE, SubParsers


def register(sub: SubParsers) -> None:
    """Add `edge check-config`."""
    p = sub.add_parser("check-config", help="validate a node config; exit 2 naming each fault")
    p.add_argument("path", type=Path, help="config file (TOML)")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.add_argument(
        "--credentials",
        type=Path,
        metavar="DIR",
        help="resolve credential:NAME paths in DIR (as systemd's $CREDENTIALS_DIRECTORY would)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Load the config and its privacy masks; print a summary, or each fault."""
    from edge.config.loader import ConfigError, load

    env = None
    if args.credentials:
        env = {**os.environ, "CREDENTIALS_DIRECTORY": str(args.credentials)}
    try:
        cfg = load(args.path, env=env)
    except ConfigError as e:
        if args.json:
            print(json.dumps({"ok": False, "file": e.source, "problems": e.problems}))
        else:
            for problem in e.problems:
                print(f"{e.source}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from edge.capture.privacy import mask_problems

    problems = mask_problems(cfg.cameras)
    if problems:
        if args.json:
            print(json.dumps({"ok": False, "file": str(args.path), "problems": problems}))
        else:
            for problem in problems:
                print(f"{args.path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    summary = {
        "ok": True,
        "file": str(args.path),
        "node": cfg.node.id,
        "site": cfg.node.site,
        "cameras": [c.name for c in cfg.cameras],
        "sensors": [s.name for s in cfg.sensors],
        "destinations": [d.name for d in cfg.destinations],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{args.path}: OK: node {cfg.node.id} at {cfg.node.site}, "
            f"{len(cfg.cameras)} camera(s), {len(cfg.sensors)} sensor(s), "
            f"{len(cfg.destinations)} destination(s)"
        )
    return EXIT_OK
