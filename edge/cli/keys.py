"""``edge keys export``: print the node's public evidence-signing key."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import EXIT_FAILED, EXIT_OK, SubParsers, load_or_exit


def register(sub: SubParsers) -> None:
    """Add `edge keys` and its action `export`."""
    p = sub.add_parser("keys", help="the node's evidence-signing key")
    keys = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    k = keys.add_parser("export", help="print the public key (the private key never leaves)")
    k.add_argument("--config", "-c", type=Path, required=True, help="node config (TOML)")
    k.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the public half of the node's Ed25519 key, as PEM or JSON."""
    from edge.evidence.keys import NodeKey, SigningKeyError, public_pem

    cfg = load_or_exit(args.config)
    try:
        key = NodeKey(cfg.key_path)
    except (SigningKeyError, OSError) as e:
        print(f"keys: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
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
    return EXIT_OK
