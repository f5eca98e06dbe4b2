"""``edge receive enrol`` and ``edge receive keys``: enrol a node's key, replace it (only with
``--replace --reason``: audited, the old key kept for what it signed), and list a node's key
history with its replacements."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from edge.receiver.store.database import Database
    from edge.receiver.store.store import ReceiverStore


def handle(store: ReceiverStore, args: argparse.Namespace) -> int:
    """``enrol`` or ``keys``."""
    return enrol(store, args) if args.action == "enrol" else history(store, args)


def read_key(args: argparse.Namespace) -> argparse.Namespace:
    """Read the key file (``-``: standard input) into ``args.key_text`` (None, with
    ``args.key_error``, when it cannot be read), and default ``--by`` to who runs the command
    (the sudo caller): done before the command becomes the service's user."""
    from edge.cli.asservice import invoking_user

    args.key_text, args.key_error = None, ""
    try:
        if str(args.public_key) == "-":
            args.key_text = sys.stdin.read()
        else:
            args.key_text = args.public_key.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        args.key_error = str(e)
    args.by = args.by or invoking_user()
    return args


def _key_text(args: argparse.Namespace) -> tuple[str | None, str | None, str]:
    """(site, PEM, problem) from the key file: a PEM, or the JSON of ``edge keys export``."""
    site, node = args.site, args.node
    if "/" in node:
        site, node = node.split("/", 1)
    args.node = node
    text = args.key_text if "key_text" in args else read_key(args).key_text
    if text is None:
        return site, None, f"cannot read the key: {args.key_error}"
    if not text.lstrip().startswith("{"):
        return site, text, ""
    try:
        exported = json.loads(text)
        pem = str(exported["public_key_pem"])
    except (ValueError, KeyError, TypeError) as e:
        return site, None, f"not the JSON of edge keys export --json: {e}"
    if exported.get("node") != node:
        return site, None, f"key of node {exported.get('node')!r}, not {node!r}"
    return site or exported.get("site"), pem, ""


def enrol(store: ReceiverStore, args: argparse.Namespace) -> int:
    """``enrol [SITE/]NODE KEY [--replace --reason WHY] [--by NAME]``."""
    from edge.core.errors import EdgeError
    from edge.receiver.keyring import utc
    from edge.receiver.store import keys

    site, pem, problem = _key_text(args)
    node = args.node
    if problem or pem is None:
        print(f"{args.public_key}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    if not site:
        print("the node's site is needed: SITE/NODE or --site", file=sys.stderr)
        return EXIT_USAGE
    if args.replace and not args.reason.strip():
        print('--replace needs --reason "WHY" (kept with the key history)', file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.replace and not keys.history(store.db, site, node):
            print(f"{site}/{node} is not enrolled: nothing to replace (enrol it without "
                  "--replace)", file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
        done = store.enrol(site, node, pem, by=args.by, reason=args.reason, replace=args.replace)
    except (EdgeError, ValueError) as e:
        print(f"{args.public_key}: {e}", file=sys.stderr)
        return EXIT_FAILED
    key = done.key
    if done.action is keys.Action.UNCHANGED:
        print(f"{site}/{node} already has key {key.key_id} (since {utc(key.valid_from)}): "
              "nothing changed")  # fmt: skip
    elif done.old is not None:
        print(f"replaced {site}/{node} key {done.old.key_id} by key {key.key_id} at"
              f" {utc(key.valid_from)}, by {key.enrolled_by}: {key.reason}")  # fmt: skip
    else:
        print(f"enrolled {site}/{node} key {key.key_id}")
    return EXIT_OK


def history(store: ReceiverStore, args: argparse.Namespace) -> int:
    """``keys SITE/NODE [--json]``: every key of the node and every replacement."""
    from edge.receiver.keyring import utc
    from edge.receiver.store import keys

    site, _, node = args.node.partition("/")
    if not node:
        print("keys needs SITE/NODE", file=sys.stderr)
        return EXIT_USAGE
    enrolled = keys.history(store.db, site, node)
    if not enrolled:
        print(f"{site}/{node} is not enrolled", file=sys.stderr)
        return EXIT_FAILED
    records = [{k: v for k, v in i.record().items() if k != "public_key_pem"} for i in enrolled]
    replaced = keys.replacements(store.db, site, node)
    if args.json:
        print(json.dumps({"keys": records, "replacements": replaced}, indent=2))
        return EXIT_OK
    cols = ("key_id", "valid_from_utc", "valid_until_utc", "enrolled_by", "reason")
    print("\t".join(cols))
    for r in records:
        print("\t".join("" if r[c] is None else str(r[c]) for c in cols))
    for r in replaced:
        print(f"replaced {r['old_key_id']} by {r['new_key_id']} at {utc(r['time'])} by"
              f" {r['username']}: {r['reason']}")  # fmt: skip
    return EXIT_OK


def verification(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """``show``: the event's clip verified again with the key that signed it."""
    from edge.receiver import provenance

    return provenance.verify_event_clip(db, event)
