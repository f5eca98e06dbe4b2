"""``edge keys init`` (make the node's evidence-signing key, once) and ``edge keys export``
(print its public half). Nothing else ever makes a key: a node without one refuses to start."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli.asservice import node_config
from edge.cli.common import EXIT_FAILED, EXIT_OK, SubParsers

if TYPE_CHECKING:
    from edge.config.root import EdgeConfig
    from edge.evidence.keys import NodeKey


def register(sub: SubParsers) -> None:
    """Add `edge keys` and its actions `init` and `export`."""
    p = sub.add_parser("keys", help="the node's evidence-signing key")
    keys = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    i = keys.add_parser(
        "init",
        help="make the node's signing key (once; never replaces one)",
        description="Make the node's Ed25519 signing key (DATA_DIR/keys, 0600 in a 0700 "
        "directory), record key_init with its key id in the audit log, and print the key id "
        "and public key for the receivers. Exit 0 made, 1 refused (a key is already there) "
        "or failed.",
    )
    k = keys.add_parser(
        "export",
        help="print the public key (the private key never leaves)",
        description="Print the public key. Exit 0, or 1 when the node has no usable key "
        "(nothing is created: make one with edge keys init).",
    )
    for a in (i, k):
        a.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
        a.add_argument("--json", action="store_true", help="machine-readable")
    i.set_defaults(handler=handle_init)
    k.set_defaults(handler=handle)


def _print_key(cfg: EdgeConfig, key: NodeKey, as_json: bool) -> None:
    from edge.evidence.keys import public_pem

    if as_json:
        print(
            json.dumps(
                {
                    "node": cfg.node.id,
                    "site": cfg.node.site,
                    "key_id": key.id,
                    "alg": "Ed25519",
                    "public_key_pem": public_pem(key.public),
                }
            )
        )
    else:
        print(f"# warehouse-edge node {cfg.node.id} at {cfg.node.site}, Ed25519 key id {key.id}")
        print(public_pem(key.public), end="")


def handle_init(args: argparse.Namespace) -> int:
    """Make the key and record it; refuse when one is there."""
    from edge.core.errors import EvidenceError
    from edge.evidence.keyinit import init_key

    cfg = node_config(args.config)
    try:
        key, record = init_key(cfg.key_path, cfg.audit_path)
    except (EvidenceError, OSError) as e:
        print(f"keys: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"keys: made {cfg.key_path} (key id {key.id}), recorded as audit seq {record['seq']}",
        file=sys.stderr,
    )
    _print_key(cfg, key, args.json)
    return EXIT_OK


def handle(args: argparse.Namespace) -> int:
    """Print the public half of the node's Ed25519 key, as PEM or JSON; never makes one."""
    from edge.evidence.keys import MISSING_HINT, NodeKey, SigningKeyError

    cfg = node_config(args.config)
    try:
        key = NodeKey(cfg.key_path)
    except (SigningKeyError, OSError) as e:
        hint = MISSING_HINT.replace("<node.toml>", str(args.config))
        print(f"keys: {str(e).replace(MISSING_HINT, hint)}", file=sys.stderr)
        return EXIT_FAILED
    _print_key(cfg, key, args.json)
    return EXIT_OK
