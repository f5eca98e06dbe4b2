"""``edge run``: the node daemon (under systemd: Type=notify)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from edge.cli.common import EXIT_OK, SubParsers, load_or_exit


def register(sub: SubParsers) -> None:
    """Add `edge run`."""
    p = sub.add_parser("run", help="run the node daemon (under systemd: Type=notify)")
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json", "journal"],
        help="override logging.format",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the node until SIGTERM or SIGINT; SIGUSR1 silences the sirens."""
    from edge.core import logs
    from edge.node.node import Node
    from edge.node.notify import Notifier
    from edge.node.watchdog import run_until

    cfg = load_or_exit(args.config)
    logs.configure(cfg.logging.level, args.log_format or cfg.logging.format)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logs.get_logger(__name__).info("node.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    node = Node(cfg)
    signal.signal(signal.SIGUSR1, lambda _s, _f: node.reset_sirens())  # silence the siren
    run_until(node, stop, Notifier())
    return EXIT_OK
