"""``edge check-config``: validate a node config and what it names on this machine (TLS files
and the CA that issued them, directories, file cameras, the GPIO pin factory, the model, the
node's signing key) through the same preflight ``edge run`` uses, or a receiver config (one
with a ``[receiver]`` table: its broker TLS files and data directory); exit 2 naming each
fault. A mock GPIO factory passes with a WARNING line."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.asservice import Became, become_service, unreadable_credentials
from edge.cli.common import EXIT_OK, EXIT_USAGE, SubParsers

if TYPE_CHECKING:
    from edge.config.root import EdgeConfig
    from edge.receiver.config import ReceiverConfig


def register(sub: SubParsers) -> None:
    """Add `edge check-config`."""
    p = sub.add_parser(
        "check-config",
        help="validate a node or receiver config; exit 2 naming each fault",
        description="Check a node config and, unless --no-preflight, everything `edge run` "
        "needs from this machine, as `edge run` checks it: TLS files (present, parse, keys "
        "private and matching, the certificate issued by the CA), writable directories, file "
        "cameras, the GPIO pin factory (loaded), the model (loaded), the node's signing key. "
        "A mock GPIO factory passes with a WARNING line on stderr. A file with a "
        "[receiver] table is a receiver config: its broker TLS files and data directory are "
        "checked as `edge receive` will use them. "
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
    if _is_receiver(args.path):
        return _check_receiver(args, env)
    cfg: EdgeConfig | None = None
    with _stdout_to_stderr(args.json):  # a model loader's chatter must not corrupt the JSON
        handed = _as_service(args, env)
        try:
            cfg = load(args.path, env=env)
        except ConfigError as e:
            problems, source = e.problems, e.source
        else:
            problems, source = (
                handed.problems + _problems(cfg, args.path, preflight=not args.no_preflight),
                str(args.path),
            )
            problems = unreadable_credentials(args.path, env, problems)
    if cfg is None or problems:
        return _failed(source, problems, as_json=args.json)
    _summary(cfg, args)
    return EXIT_OK


def _failed(source: str, problems: list[str], *, as_json: bool) -> int:
    """Report *problems* (one line each on stderr, or one JSON object); the exit status."""
    if as_json:
        print(json.dumps({"ok": False, "file": source, "problems": problems}))
    else:
        for problem in problems:
            print(f"{source}: {problem}", file=sys.stderr)
    return EXIT_USAGE


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
    from edge.config.preflight import preflight_warnings

    warnings = preflight_warnings(cfg)
    summary: dict[str, Any] = {
        "ok": True,
        "file": str(args.path),
        "node": cfg.node.id,
        "site": cfg.node.site,
        "cameras": [c.name for c in cfg.cameras],
        "sensors": [s.name for s in cfg.sensors],
        "destinations": [d.name for d in cfg.destinations],
        "preflight": not args.no_preflight,
        "warnings": warnings,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for warning in warnings:  # passes, but loudly: stderr, one line each
            print(f"{args.path}: WARNING: {warning}", file=sys.stderr)
        checked = "" if args.no_preflight else " (files, directories and model checked)"
        print(
            f"{args.path}: OK: node {cfg.node.id} at {cfg.node.site}, "
            f"{len(cfg.cameras)} camera(s), {len(cfg.sensors)} sensor(s), "
            f"{len(cfg.destinations)} destination(s){checked}"
        )


def _as_service(args: argparse.Namespace, env: dict[str, str] | None) -> Became:
    """As root, with preflight, for a config a unit runs: check as the unit's user, with the
    credentials it hands over: what the daemon will find. With --credentials (the caller
    hands them over) or for any other file (a candidate config), as the caller."""
    if args.no_preflight or env is not None:
        return Became()
    return become_service(args.path, None, credentials=True)


# -- receiver configs --------------------------------------------------------------------------


def _is_receiver(path: Path) -> bool:
    """Whether *path* is a receiver config: TOML with a top-level ``[receiver]`` table. A file
    that cannot be read or parsed is taken for a node config, whose loader says why."""
    from edge.config.loader import MAX_BYTES

    try:
        if path.stat().st_size > MAX_BYTES:
            return False
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False
    return isinstance(raw.get("receiver"), dict)


def _check_receiver(args: argparse.Namespace, env: dict[str, str] | None) -> int:
    """``check-config`` for a receiver config: the model, then (unless --no-preflight) what
    ``edge receive`` needs from this machine."""
    from edge.config.loader import ConfigError
    from edge.receiver.config import load

    handed = _as_service(args, env)
    try:
        cfg = load(args.path, env=env)
    except ConfigError as e:
        return _failed(e.source, e.problems, as_json=args.json)
    problems = [] if args.no_preflight else handed.problems + _receiver_problems(cfg)
    problems = unreadable_credentials(args.path, env, problems)
    if problems:
        return _failed(str(args.path), problems, as_json=args.json)
    _receiver_summary(cfg, args)
    return EXIT_OK


def _receiver_problems(cfg: ReceiverConfig) -> list[str]:
    """The broker's TLS files load as ``edge receive`` loads them; the data directory (and the
    SQLite store in it) can be used or made. Nothing is written and the network is not used
    (a PostgreSQL store is not connected to)."""
    from edge.config.preflight import one_line
    from edge.wire.tls import TlsSetupError, tls_context

    problems: list[str] = []
    try:
        tls_context(cfg.broker.tls, "broker.tls")
    except TlsSetupError as e:
        problems.append(one_line(str(e)))
    except OSError as e:  # a folder this user may not enter
        problems.append(f"broker.tls: {e.filename}: {e.strerror or e}")
    bad_dir = _directory("receiver.data_dir", cfg.data_dir)
    if bad_dir:
        problems.append(bad_dir)
    elif cfg.receiver.store == "sqlite":
        bad_db = _sqlite_file("receiver.store", cfg.data_dir / "receiver.db")
        if bad_db:
            problems.append(bad_db)
    return problems


def _directory(where: str, path: Path) -> str | None:
    """Why this user cannot use directory *path* or, when it is missing, create it; or None."""
    try:
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            if existing == path:
                return f"{where}: {path} is not a directory"
            return f"{where}: cannot create {path}: {existing} is not a directory"
        if not os.access(existing, os.W_OK | os.X_OK):
            if existing == path:
                return f"{where}: {path} is not writable by this user: chown or chmod it"
            return (
                f"{where}: {path} does not exist and cannot be created ({existing} is not "
                "writable by this user): create it, writable by the receiver's user"
            )
    except OSError as e:
        return f"{where}: cannot check {path}: {e.strerror or e}"
    return None


def _sqlite_file(where: str, path: Path) -> str | None:
    """Why the SQLite store *path*, when it exists, cannot be read and written; or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None  # made on first start
    except OSError as e:
        return f"{where}: cannot check {path}: {e.strerror or e}"
    if not stat.S_ISREG(st.st_mode):
        return f"{where}: {path} is not a regular file (the SQLite store)"
    if not os.access(path, os.R_OK | os.W_OK):
        return f"{where}: {path} is not writable by this user: chown or chmod it"
    return None


def _receiver_summary(cfg: ReceiverConfig, args: argparse.Namespace) -> None:
    tls = cfg.broker.tls
    link = "plain (allow_insecure)" if tls is None else "mutual TLS" if tls.cert else "TLS"
    store = "sqlite" if cfg.receiver.store == "sqlite" else "postgresql"  # never the URL
    if args.json:
        summary = {
            "ok": True,
            "file": str(args.path),
            "receiver": cfg.receiver.name,
            "broker": f"{cfg.broker.host}:{cfg.broker.port}",
            "tls": tls is not None,
            "store": store,
            "preflight": not args.no_preflight,
        }
        print(json.dumps(summary))
    else:
        checked = "" if args.no_preflight else " (TLS files and data directory checked)"
        print(
            f"{args.path}: OK: receiver {cfg.receiver.name}, broker {cfg.broker.host}:"
            f"{cfg.broker.port} ({link}), store {store}{checked}"
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
