"""The ``edge`` command line: assembles the command modules of edge/cli/ and dispatches."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from edge import __version__
from edge.cli import (
    audit,
    bench,
    check_config,
    demo,
    keys,
    model,
    pki,
    receive,
    report,
    run,
    sensors,
    snapshot,
    status,
)
from edge.cli import eval as evaluate
from edge.cli.common import EXIT_USAGE, Command, Handler

COMMANDS: tuple[Command, ...] = (
    run,
    demo,
    check_config,
    snapshot,
    bench,
    sensors,
    keys,
    audit,
    report,
    evaluate,
    model,
    receive,
    pki,
    status,
)
"""Every command module, in the order ``edge --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="edge",
        description="warehouse-edge: privacy-masked CCTV analysis, GPIO sensors and durable "
        "evidence delivery for election-logistics warehouses.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edge`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command not in ("run", "demo"):
        from edge.core import logs

        logs.configure("warning", "console")  # tools print results; only problems are logged
    return handler(args)
