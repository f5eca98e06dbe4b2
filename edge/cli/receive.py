"""``edge receive``: run the police-side receiver (with the dashboard: ``--http HOST:PORT``),
enrol node keys (a replacement only with ``--replace --reason``; ``keys`` lists a node's key
history), manage dashboard users (``user add``), and look through what it stored
(``list``, ``show``, ``nodes``, ``alerts``, ``quarantine``); ``bench`` simulates a fleet."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli import (
    receive_access,
    receive_audit,
    receive_bench,
    receive_keys,
    receive_list,
    receive_retention,
    receive_users,
)
from edge.cli.asservice import become_service
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers, exit_if
from edge.core.lifecycle import Worker

if TYPE_CHECKING:
    from edge.core.displaytime import DisplayZone
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.database import Database
    from edge.receiver.store.store import ReceiverStore


def register(sub: SubParsers) -> None:
    """Add `edge receive` and its actions."""
    p = sub.add_parser(
        "receive",
        help="the police-side receiver (run it, enrol nodes, list what arrived)",
        description="Without an action: run the receiver (until SIGTERM). Exit 2 for a bad "
        "config, 1 when the store cannot be opened (or fails its quick_check) or a thread of "
        "the running receiver died (systemd restarts it).",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="receiver config (TOML)")
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        nargs="?",
        const="",
        help="also serve the dashboard there (e.g. 127.0.0.1:8080); alone: at [http] bind "
        "of the config (default 127.0.0.1:8080). HTTPS when [http] has tls_cert and tls_key",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    e = actions.add_parser(
        "enrol",
        help="register a node's public key (from edge keys export); --replace --reason to "
        "replace its key (the old one stays in the history for what it signed)",
    )
    e.add_argument("node", help="node id, or SITE/NODE")
    e.add_argument("public_key", type=Path,
                   help="PEM or the JSON of edge keys export --json (- reads stdin)")  # fmt: skip
    e.add_argument("--site", help="the node's site (when NODE does not name it)")
    e.add_argument("--replace", action="store_true",
                   help="replace the node's current key (needs --reason)")  # fmt: skip
    e.add_argument("--reason", default="", help="why (kept with the key; needed by --replace)")
    e.add_argument("--by", default="", help="who enrols it (default: the OS user)")
    ks = actions.add_parser("keys", help="a node's key history and key replacements")
    ks.add_argument("node", help="SITE/NODE")
    receive_list.register(actions)
    actions.add_parser("nodes", help="the fleet board")
    al = actions.add_parser("alerts", help="the receiver's own alerts")
    al.add_argument("--all", action="store_true", help="cleared ones too")
    actions.add_parser("quarantine", help="rejected messages and why")
    hd = actions.add_parser(
        "heads",
        help="audit chain heads a node reported (for edge audit verify --head)",
    )
    hd.add_argument("node", help="SITE/NODE")
    for a in (hd, ks, *(actions.choices[n] for n in ("nodes", "alerts", "quarantine"))):
        a.add_argument("--json", action="store_true", help="machine-readable")
    receive_bench.register(actions)
    receive_users.register(actions)
    receive_audit.register(actions)
    receive_retention.register(actions)
    receive_access.register(actions)
    p.set_defaults(handler=handle)


def _config(path: Path) -> ReceiverConfig:
    from edge.config.loader import ConfigError
    from edge.receiver.config import load

    try:
        return load(path)
    except ConfigError as e:
        exit_if(e.source, e.problems, EXIT_USAGE)
        raise


def _store(cfg: ReceiverConfig) -> ReceiverStore:
    from edge.receiver.store.database import StoreError
    from edge.receiver.store.store import ReceiverStore

    try:
        return ReceiverStore(cfg.store_url, cfg.data_dir)
    except StoreError as e:
        exit_if(cfg.receiver.store, [str(e)], EXIT_FAILED)
        raise


def handle(args: argparse.Namespace) -> int:
    """Dispatch on the action; none runs the receiver."""
    cfg = _config(args.config)
    if args.action == "enrol":  # what the caller names, read as the caller, before any switch
        receive_keys.read_key(args)
    if become_service(args.config, cfg.data_dir, credentials=args.action is None).changed:
        cfg = _config(args.config)  # as the service's user, with its credentials
    if args.action is None:
        return _run(cfg, args.http)
    if args.action == "bench":
        return receive_bench.handle(args, cfg)
    store = _store(cfg)
    try:
        if args.action == "user":
            return receive_users.handle(args, store)
        with_config = {"audit": receive_audit.handle, "retention": receive_retention.handle,
                       "access": receive_access.handle}  # fmt: skip
        if args.action in with_config:
            return with_config[args.action](args, store, cfg)
        if args.action in ("enrol", "keys"):
            return receive_keys.handle(store, args)
        return quiet_pipe(_show, store, cfg, args)
    finally:
        store.close()


def _run(cfg: ReceiverConfig, http: str | None) -> int:
    from edge.core import logs
    from edge.node.notify import Notifier
    from edge.receiver.liveness import run_until
    from edge.receiver.service import Receiver

    logs.configure("info", "auto")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    web = None
    if http is not None:  # its own connection: dashboard reads never queue behind the writer
        web_store = _store(cfg)
        try:
            web = receive_users.web_server(cfg, web_store, http or None)
        except (OSError, ValueError) as e:
            web_store.close()
            print(f"--http {http or cfg.http.bind}: {e}", file=sys.stderr)
            return EXIT_FAILED
    receiver = Receiver(cfg, _store(cfg))
    receiver.start()
    if web is not None:
        web.start()
        receive_access.started(web)  # viewings a stopped receiver left pending are chained
    dead = run_until(receiver, stop, Notifier(), also_dead=web.dead if web else list)

    def stop_all() -> None:
        if web is not None:
            web.stop()
            receive_access.stopped(web)  # open viewings end: chained
            web.store.close()
        receiver.stop()

    if not dead:
        stop_all()
        return EXIT_OK
    # a thread died: stop the rest, but never hang on a wedged part (systemd restarts us)
    Worker("receiver-stop").spawn(stop_all, "receiver-stop").join(20)
    return EXIT_FAILED


def quiet_pipe(fn: Callable[..., int], *args: Any) -> int:
    """*fn*, ending quietly when whoever reads its output stops (``| head``): no traceback,
    and nothing more written (the rest goes to /dev/null so the exit's flush cannot fail)."""
    try:
        code = fn(*args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK


def _show(store: ReceiverStore, cfg: ReceiverConfig, args: argparse.Namespace) -> int:
    from edge.receiver.store import reads

    db = store.db
    data: Any
    if args.action == "list":
        return receive_list.list_events(store, cfg, args)
    if args.action == "show":
        return receive_list.show_event(store, cfg, args)
    if args.action == "nodes":
        data = reads.nodes(db) if args.json else _nodes(db, cfg)
    elif args.action == "heads":
        site, _, node = args.node.partition("/")
        if not node:
            print("heads needs SITE/NODE", file=sys.stderr)
            return EXIT_USAGE
        data = reads.audit_heads(db, site, node)
    elif args.action == "alerts":
        data = reads.alerts(db, open_only=not args.all)
    else:
        data = reads.quarantine(db)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        _table(data if isinstance(data, list) else [data], args.action, cfg.console.zone)
        if args.action == "quarantine":
            print(reads.describe_quarantine(db))
    return EXIT_OK


_COLUMNS = {
    "nodes": (
        "site",
        "node",
        "state",
        "age_s",
        "queued",
        "health_status",
        "alerts",
        "last_seen",
        "offline_since",
        "name",
    ),
    "alerts": (
        "raised",
        "last_raised",
        "times",
        "kind",
        "site",
        "node",
        "ref",
        "cleared",
        "detail",
    ),
    "quarantine": ("received", "reason", "node", "topic", "size", "sha256", "detail"),
    "heads": ("time", "head"),
}
_TIMES = ("received", "raised", "last_raised", "cleared", "time", "last_seen", "offline_since")


def _nodes(db: Database, cfg: ReceiverConfig) -> list[dict[str, Any]]:
    """The board for a terminal: each node with since when it is offline and its names."""
    from edge.receiver.places import from_config
    from edge.receiver.store import fleetview

    places = from_config(cfg)
    rows = fleetview.board(db, cfg.broker.topic_prefix)
    for r in rows:
        r["name"] = f"{places.site_label(r['site'])} / {places.node_label(r['site'], r['node'])}"
    return rows


def _table(rows: list[dict[str, Any]], action: str, zone: DisplayZone) -> None:
    """Tab-separated columns with a header; times in *zone*, each with its label."""
    cols = _COLUMNS[action]
    print("\t".join(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c in _TIMES and isinstance(v, int | float):
                v = zone.when(v)
            cells.append("" if v is None else str(v))
        print("\t".join(cells))
