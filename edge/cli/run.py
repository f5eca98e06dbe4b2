"""``edge run``: the node daemon (under systemd: Type=notify).

A node that cannot start says why in one line of stderr per problem, naming the file, and exits
2 (configuration) or 3 (state an operator must fix); the unit's ``RestartPreventExitStatus=``
keeps systemd from restarting it into the same fault every few seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from edge.cli.common import EXIT_OK, EXIT_STATE, EXIT_USAGE, SubParsers, exit_if, load_or_exit
from edge.core.errors import (
    CaptureError,
    ClipError,
    ConfigurationError,
    DetectorError,
    EdgeError,
    EvidenceError,
    OutboxError,
    SensorError,
    TransportError,
)

if TYPE_CHECKING:
    from edge.config.root import EdgeConfig

_CONFIG_ERRORS = (ConfigurationError, DetectorError, TransportError)
"""Errors about what the config names: exit 2."""

_ADVICE: tuple[tuple[type[EdgeError], str], ...] = (
    (ConfigurationError, "fix the config; check it with edge check-config"),
    (DetectorError, "fix [detector] or the model file; check it with edge check-config"),
    (TransportError, "fix the destination's TLS files; check them with edge check-config"),
    (EvidenceError, ""),  # signing key and audit log errors say what to do themselves
    (OutboxError, "fix the outbox file or its directory (ownership, space), then start again"),
    (ClipError, "fix the clips directory (ownership, space), then start again"),
    (SensorError, "check the GPIO wiring and [gpio], then start again"),
    (CaptureError, "check the camera and its settings, then start again"),
)


def register(sub: SubParsers) -> None:
    """Add `edge run`."""
    p = sub.add_parser(
        "run",
        help="run the node daemon (under systemd: Type=notify)",
        description="Run the node. Exit status: 0 stopped, 2 configuration problem, "
        "3 node state an operator must fix (one line of stderr per problem).",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json", "journal"],
        help="override logging.format",
    )
    p.set_defaults(handler=handle)


def start_failure(exc: EdgeError) -> tuple[int, str]:
    """The exit status for a node that could not be built because of *exc*, and what to do
    (empty when the error's own message says it)."""
    code = EXIT_USAGE if isinstance(exc, _CONFIG_ERRORS) else EXIT_STATE
    advice = next((a for kind, a in _ADVICE if isinstance(exc, kind)), "an operator must fix it")
    return code, advice


def handle(args: argparse.Namespace) -> int:
    """Run the node until SIGTERM or SIGINT; SIGUSR1 silences the sirens."""
    from edge.config.preflight import preflight
    from edge.core import logs
    from edge.node.enrolment import wait_for_enrolment
    from edge.node.node import Node
    from edge.node.notify import Notifier
    from edge.node.watchdog import run_until

    cfg = load_or_exit(args.config)
    logs.configure(cfg.logging.level, args.log_format or cfg.logging.format)
    log = logs.get_logger(__name__)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("node.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    def reload() -> tuple[EdgeConfig, list[str]]:  # the model loads once, in Node below
        again = load_or_exit(args.config)
        return again, preflight(again)

    waited = wait_for_enrolment(reload, stop, Notifier())  # a node not enrolled yet waits
    if waited is None:
        return EXIT_OK
    cfg, problems = waited
    exit_if(args.config, problems, EXIT_USAGE)
    try:
        node = Node(cfg)
    except EdgeError as e:
        code, advice = start_failure(e)
        reason = " ".join(str(e).replace("<node.toml>", str(args.config)).split())
        tail = f"; {advice}" if advice else ""
        print(f"{args.config}: cannot start: {reason or type(e).__name__}{tail}", file=sys.stderr)
        return code
    signal.signal(signal.SIGUSR1, lambda _s, _f: node.reset_sirens())  # silence the siren
    run_until(node, stop, Notifier())
    return EXIT_OK
