"""``edge receive user add|list|unlock``: the dashboard's users (the password is read from stdin
when it is not a terminal, else asked twice without echo), and the dashboard server that
``edge receive --http HOST:PORT`` runs beside the receiver."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.store import ReceiverStore
    from edge.receiver.web.server import WebServer


def register(actions: Any) -> None:
    """Add ``user`` to the actions of ``edge receive``."""
    u = actions.add_parser("user", help="dashboard users (add, list, unlock)")
    sub = u.add_subparsers(dest="user_action", metavar="USER_ACTION", required=True)
    add = sub.add_parser("add", help="add a user (password from stdin, or asked twice)")
    add.add_argument("name", help="login name: lower-case letters, digits, . _ -")
    add.add_argument(
        "--role",
        choices=("viewer", "officer", "admin", "auditor"),
        required=True,
        help="viewer: look; officer: acknowledge too; admin: see users and logins; "
        "auditor: only the access log and the reports (no console, clips or evidence)",
    )
    add.add_argument(
        "--lang",
        choices=("id", "en"),
        help="the user's console language (default: the receiver's, [console] language)",
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="change an existing user's role and password (and unlock it)",
    )
    sub.add_parser("list", help="the users, their roles and locks")
    unlock = sub.add_parser(
        "unlock", help="clear a user's lock and the address locks of its wrong passwords"
    )
    unlock.add_argument("name", help="login name")


def _password() -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("the passwords differ", file=sys.stderr)
        return None
    return first


def handle(args: argparse.Namespace, store: ReceiverStore) -> int:
    """``user add``, ``user list`` or ``user unlock``."""
    from edge.receiver.web.throttle import wib
    from edge.receiver.web.users import UserError, Users

    users = Users(store.db)
    if args.user_action == "list":
        for u in users.all():
            until = u["locked_until"]
            locked = "" if not until or until < time.time() else f"  locked until {wib(until)}"
            print(f"{u['name']}\t{u['role']}{locked}")
        return EXIT_OK
    if args.user_action == "unlock":
        cleared = users.unlock(args.name)
        if cleared is None:
            print(f"no user {args.name!r}", file=sys.stderr)
            return EXIT_FAILED
        print(f"user {args.name} unlocked ({cleared} address locks cleared)")
        return EXIT_OK
    password = _password()
    if password is None:
        return EXIT_USAGE
    try:
        users.add(args.name, args.role, password, replace=args.replace)
    except UserError as e:
        print(e, file=sys.stderr)
        return EXIT_FAILED
    if args.lang:
        from edge.receiver.web.i18n import set_user_lang

        set_user_lang(store.db, args.name, args.lang)
    print(f"user {args.name} ({args.role}) {'changed' if args.replace else 'added'}")
    return EXIT_OK


def web_server(cfg: ReceiverConfig, store: ReceiverStore, bind: str | None) -> WebServer:
    """The dashboard server for ``--http`` (not started); *bind* None: the config's.
    ValueError when the dashboard's packages are not installed."""
    try:
        from edge.receiver.web.server import WebServer
    except ImportError as e:
        raise ValueError(
            f"the dashboard needs the receiver extra ({e.name} is missing): "
            "pip install 'warehouse-edge[receiver]'"
        ) from e
    return WebServer(cfg, store, bind)
