"""``edge receive``: run the police-side receiver (with the dashboard: ``--http HOST:PORT``),
enrol node keys (a replacement only with ``--replace --reason``; ``keys`` lists a node's key
history), manage dashboard users (``user add``), and look through what it stored
(``list``, ``show``, ``nodes``, ``alerts``, ``quarantine``); ``bench`` simulates a fleet."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli import receive_audit, receive_bench, receive_keys, receive_users
from edge.cli.asservice import become_service
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers, exit_if

if TYPE_CHECKING:
    from edge.receiver.config import ReceiverConfig
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
    ls = actions.add_parser("list", help="events, newest first")
    ls.add_argument("--node")
    ls.add_argument("--kind")
    ls.add_argument("--since", type=float, help="seconds ago")
    ls.add_argument("--limit", type=int, default=50)
    s = actions.add_parser("show", help="one event with its clip and verification")
    s.add_argument("id")
    s.add_argument("--node", help="SITE/NODE, when several nodes have an event with this id")
    actions.add_parser("nodes", help="the fleet board")
    al = actions.add_parser("alerts", help="the receiver's own alerts")
    al.add_argument("--all", action="store_true", help="cleared ones too")
    actions.add_parser("quarantine", help="rejected messages and why")
    hd = actions.add_parser(
        "heads",
        help="audit chain heads a node reported (for edge audit verify --head)",
    )
    hd.add_argument("node", help="SITE/NODE")
    for a in (ls, s, hd, ks, *(actions.choices[n] for n in ("nodes", "alerts", "quarantine"))):
        a.add_argument("--json", action="store_true", help="machine-readable")
    receive_bench.register(actions)
    receive_users.register(actions)
    receive_audit.register(actions)
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
        if args.action == "audit":
            return receive_audit.handle(args, store, cfg)
        if args.action in ("enrol", "keys"):
            return receive_keys.handle(store, args)
        return _show(store, args)
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
    dead = run_until(receiver, stop, Notifier(), also_dead=web.dead if web else list)

    def stop_all() -> None:
        if web is not None:
            web.stop()
            web.store.close()
        receiver.stop()

    if not dead:
        stop_all()
        return EXIT_OK
    # a thread died: stop the rest, but never hang on a wedged part (systemd restarts us)
    stopper = threading.Thread(target=stop_all, name="receiver-stop", daemon=True)
    stopper.start()
    stopper.join(20)
    return EXIT_FAILED


def _show(store: ReceiverStore, args: argparse.Namespace) -> int:
    from edge.receiver.store import reads

    db = store.db
    data: Any
    if args.action == "list":
        since = None if args.since is None else time.time() - args.since
        data = reads.events(db, reads.EventFilter(node=args.node, kind=args.kind, since=since,
                                                  limit=args.limit))  # fmt: skip
    elif args.action == "show":
        try:
            data = reads.find_event(db, args.id, args.node)
        except LookupError as e:
            print(str(e), file=sys.stderr)
            return EXIT_FAILED
        data["verification"] = receive_keys.verification(db, data)
    elif args.action == "nodes":
        data = reads.nodes(db)
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
        _table(data if isinstance(data, list) else [data], args.action)
        if args.action == "quarantine":
            print(reads.describe_quarantine(db))
    return EXIT_OK


_COLUMNS = {
    "list": ("received", "site", "node", "kind", "severity", "camera", "sensor", "id"),
    "nodes": ("site", "node", "state", "age_s", "queued", "health_status", "alerts"),
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


def _table(rows: list[dict[str, Any]], action: str) -> None:
    if action == "show":
        print(json.dumps(rows[0], indent=2, default=str))
        return
    cols = _COLUMNS[action]
    print("\t".join(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c in ("received", "raised", "last_raised", "cleared", "time") and isinstance(
                v, float
            ):
                v = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v))
            cells.append("" if v is None else str(v))
        print("\t".join(cells))
