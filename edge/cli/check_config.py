"""``edge check-config``: validate a node config and what it names on this machine (TLS files,
directories, the model, the node's signing key); exit 2 naming each fault."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_OK, EXIT_USAGE, SubParsers

if TYPE_CHECKING:
    from edge.config.root import EdgeConfig


def register(sub: SubParsers) -> None:
    """Add `edge check-config`."""
    p = sub.add_parser(
        "check-config",
        help="validate a node config; exit 2 naming each fault",
        description="Check a node config and, unless --no-preflight, everything `edge run` "
        "needs from this machine: TLS files (present, parse, keys private and matching), "
        "writable directories, the model (loaded), the node's signing key. "
        "Exit 0 when usable, 2 with one line per problem.",
    )
    p.add_argument("path", type=Path, help="config file (TOML)")
    p.add_argument("--json", action="store_true", help="machine-readable result (JSON alone)")
    p.add_argument(
        "--credentials",
        type=Path,
        metavar="DIR",
        help="resolve credential:NAME paths in DIR (as systemd's $CREDENTIALS_DIRECTORY would)",
    )
    p.add_argument(
        "--no-preflight",
        action="store_true",
        help="check the file only, not the files, directories and model it names (to check a "
        "config away from its node)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Load the config, its privacy masks and what it names; print a summary, or each fault."""
    from edge.config.loader import ConfigError, load

    env = None
    if args.credentials:
        env = {**os.environ, "CREDENTIALS_DIRECTORY": str(args.credentials)}
    cfg: EdgeConfig | None = None
    with _stdout_to_stderr(args.json):  # a model loader's chatter must not corrupt the JSON
        try:
            cfg = load(args.path, env=env)
        except ConfigError as e:
            problems, source = e.problems, e.source
        else:
            problems, source = (
                _problems(cfg, args.path, preflight=not args.no_preflight),
                str(args.path),
            )
    if cfg is None or problems:
        if args.json:
            print(json.dumps({"ok": False, "file": source, "problems": problems}))
        else:
            for problem in problems:
                print(f"{source}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    _summary(cfg, args)
    return EXIT_OK


def _problems(cfg: EdgeConfig, source: Path, *, preflight: bool) -> list[str]:
    """Privacy masks, then (with *preflight*) what ``edge run`` needs from this machine: the
    files, directories and model the config names, and the node's signing key."""
    from edge.capture.privacy import mask_problems

    problems = list(mask_problems(cfg.cameras))
    if preflight:
        from edge.analysis.detect.factory import build_detector
        from edge.config.preflight import preflight as environment

        found = environment(cfg, load_model=build_detector)
        problems += found
        if not any(p.startswith("node.data_dir:") for p in found):
            problems += _signing_key(cfg, source)
    return problems


def _signing_key(cfg: EdgeConfig, source: Path) -> list[str]:
    """The node's signing key loads as ``edge run`` will load it. Read only: a missing key is
    reported, never made (that is ``edge keys init``)."""
    from edge.config.preflight import one_line
    from edge.core.errors import EdgeError
    from edge.evidence.keys import NodeKey

    if not cfg.key_path.exists():
        return [
            f"{cfg.key_path}: the node's signing key is missing: restore it from backup, or "
            f"for a new node make it once with edge keys init --config {source}"
        ]
    try:
        NodeKey(cfg.key_path)
    except EdgeError as e:
        return [one_line(str(e).replace("<node.toml>", str(source)))]
    return []


def _summary(cfg: EdgeConfig, args: argparse.Namespace) -> None:
    summary: dict[str, Any] = {
        "ok": True,
        "file": str(args.path),
        "node": cfg.node.id,
        "site": cfg.node.site,
        "cameras": [c.name for c in cfg.cameras],
        "sensors": [s.name for s in cfg.sensors],
        "destinations": [d.name for d in cfg.destinations],
        "preflight": not args.no_preflight,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        checked = "" if args.no_preflight else " (files, directories and model checked)"
        print(
            f"{args.path}: OK: node {cfg.node.id} at {cfg.node.site}, "
            f"{len(cfg.cameras)} camera(s), {len(cfg.sensors)} sensor(s), "
            f"{len(cfg.destinations)} destination(s){checked}"
        )


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """While active, whatever is written to stdout (Python or native code, e.g. a model
    loader) goes to stderr instead, so stdout holds only the result."""
    if not active:
        yield
        return
    sys.stdout.flush()
    try:
        saved: int | None = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no stdout descriptor to move: Python-level output only
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
