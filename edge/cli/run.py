"""``edge run``: the node daemon (under systemd: Type=notify).

A configuration the node cannot run with (the file, or a certificate, directory or model it
names) is one line of stderr per problem, naming the file, and exit 2; the unit's
``RestartPreventExitStatus=2`` keeps systemd from restarting it into the same fault.

The node's own state never stops it (life safety before evidence, docs/faults.md): a missing
or swapped signing key, a damaged audit log, a corrupt outbox or a destination without its
certificate leave it running degraded (``edge.node.node``); anything else that stops the
build leaves its sensors, sirens and lamps running alone until the build succeeds
(``edge.node.safety``). Signals: ``edge.node.signals``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

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
from edge.node.memory_arenas import limit_malloc_arenas
from edge.node.thread_tuning import tune_threads

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
        description="Run the node. Exit status: 0 stopped, 2 configuration problem (one line "
        "of stderr per problem). A damaged node state (key, audit log, outbox, certificate) "
        "does not stop it: it runs degraded and says why.",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json", "journal"],
        help="override logging.format",
    )
    p.set_defaults(handler=handle)


def start_failure(exc: EdgeError) -> tuple[int, str]:
    """The exit status for a node that could not be built because of *exc* (2 for the
    configuration; 3 for its state, which ``edge run`` no longer exits for: the GPIO runs
    alone meanwhile), and what to do (empty when the error's own message says it)."""
    code = EXIT_USAGE if isinstance(exc, _CONFIG_ERRORS) else EXIT_STATE
    advice = next((a for kind, a in _ADVICE if isinstance(exc, kind)), "an operator must fix it")
    return code, advice


def _one_line(exc: BaseException, config: Path) -> str:
    return " ".join(str(exc).replace("<node.toml>", str(config)).split()) or type(exc).__name__


def _tune_process() -> None:
    """Before any thread starts: two malloc arenas (docs/memory.md); OpenCV on its callers'
    threads and a 1 ms switch interval (edge/node/thread_tuning.py)."""
    limit_malloc_arenas()
    tune_threads()


def handle(args: argparse.Namespace) -> int:
    """Run the node until a stop signal (SIGTERM, SIGINT, ...); SIGUSR1 silences the sirens,
    SIGHUP is ignored (``edge.node.signals``)."""
    from edge.config.capacity_check import capacity_warnings
    from edge.config.preflight import preflight
    from edge.core import logs
    from edge.node.enrolment import forgiven, waiting_destinations
    from edge.node.node import Node
    from edge.node.notify import Notifier
    from edge.node.safety import SafetyPanel, run_safely
    from edge.node.signals import SignalDesk
    from edge.node.watchdog import run_until

    _tune_process()
    stop = threading.Event()
    current: list[Any] = []  # the node, or the safety panel: what SIGUSR1 silences

    def silence() -> None:
        for part in current[-1:]:
            part.reset_sirens()

    SignalDesk(stop, silence).install()  # first: no signal may kill the node from here on
    cfg = load_or_exit(args.config)
    logs.configure(cfg.logging.level, args.log_format or cfg.logging.format)
    log = logs.get_logger(__name__)
    problems = forgiven(cfg, preflight(cfg), list(waiting_destinations(cfg)))
    exit_if(args.config, problems, EXIT_USAGE)
    for warning in capacity_warnings(cfg):  # near (or, not enforced, over) the board's limit
        log.warning("capacity.warning", warning=warning)
    notifier = Notifier()

    def build(gpio: SafetyPanel | None = None) -> Node:
        return Node(cfg, gpio=gpio)

    try:
        node = build()
    except _CONFIG_ERRORS as e:
        code, advice = start_failure(e)
        tail = f"; {advice}" if advice else ""
        print(f"{args.config}: cannot start: {_one_line(e, args.config)}{tail}", file=sys.stderr)
        return code
    except (EdgeError, OSError, sqlite3.Error) as e:  # state: the GPIO runs alone meanwhile
        why = _one_line(e, args.config)
        advice = start_failure(e)[1] if isinstance(e, EdgeError) else ""
        tail = f"; {advice}" if advice else ""
        print(f"{args.config}: sensors and sirens only: {why}{tail}", file=sys.stderr)
        try:
            waited = run_safely(cfg, build, why, stop, notifier, on_panel=current.append)
        except EdgeError as again:  # not even the GPIO: systemd restarts it (not exit 2)
            print(f"{args.config}: cannot start: {_one_line(again, args.config)}", file=sys.stderr)
            return EXIT_STATE
        if waited is None:
            return EXIT_OK
        node = waited
    current.append(node)
    run_until(node, stop, notifier)
    stuck = node.stopped_with
    if stuck:  # their threads are daemons, but a wedged call may hold the interpreter's exit
        log.warning("node.exit_forced", stuck=stuck)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK
