"""``edge receive audit verify|key|export``: the acknowledgement audit chain kept in the
store. ``verify`` checks it (records, signed checkpoints and head, every ack row against
its record, the heads kept in this data directory); ``key`` prints this receiver's public
audit key, to pin with ``verify --public-key``; ``export`` writes the chain as a log in the
node's format, which ``edge audit verify`` checks anywhere."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.store import ReceiverStore

_VERIFY = """\
Check the acknowledgement audit: every chain record hashes right and follows the one
before, every checkpoint and the head are signed by a receiver key (the keys registered in
the store, or only those given with --public-key), the head is the chain's last record,
every ack row matches its record and every record has its row, and every head a receiver
kept in this data directory is still in the chain.

exit status:
  0  intact
  1  damaged: one line on stderr per problem, naming the record, row, key or file
  2  a public key cannot be read
"""


def register(actions: Any) -> None:
    """Add ``audit`` to the actions of ``edge receive``."""
    a = actions.add_parser("audit", help="the acknowledgement audit chain (verify, key, export)")
    sub = a.add_subparsers(dest="audit_action", metavar="AUDIT_ACTION", required=True)
    v = sub.add_parser(
        "verify",
        help="check the chain, its signatures and every ack row; exit 1 with the problems",
        description=_VERIFY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="trust only this receiver key (the output of `audit key` on that receiver); "
        "repeat for every receiver",
    )
    v.add_argument("--json", action="store_true", help="machine-readable")
    sub.add_parser("key", help="this receiver's public audit key (PEM), to pin with --public-key")
    e = sub.add_parser("export", help="the chain as a log in the node's format (new file)")
    e.add_argument("path", type=Path, help="where to write it (must not exist)")


def handle(args: argparse.Namespace, store: ReceiverStore, cfg: ReceiverConfig) -> int:
    """``audit verify``, ``audit key`` or ``audit export``."""
    if args.audit_action == "key":
        return _key(cfg)
    if args.audit_action == "export":
        return _export(store, args.path)
    return _verify(store, cfg, args)


def _public_key(path: Path) -> Ed25519PublicKey:
    from edge.evidence.keys import load_public

    text = path.read_text(encoding="utf-8")
    begin = text.find("-----BEGIN")
    return load_public(text[begin:] if begin >= 0 else text)


def _verify(store: ReceiverStore, cfg: ReceiverConfig, args: argparse.Namespace) -> int:
    from edge.core.errors import EvidenceError
    from edge.receiver.ackaudit.verify import verify_chain

    keys = []
    for path in args.public_key:
        try:
            keys.append(_public_key(path))
        except (OSError, ValueError, EvidenceError) as e:
            print(f"{path}: cannot read the public key: {e}", file=sys.stderr)
            return EXIT_USAGE
    check = verify_chain(store.db, cfg.data_dir, keys)
    if args.json:
        print(json.dumps({"ok": check.ok, "records": check.records, "acks": check.acks,
                          "head_seq": check.head_seq, "head": check.head,
                          "checkpoints": check.checkpoints, "keys": list(check.keys),
                          "pinned": check.pinned, "problems": list(check.problems),
                          "notes": check.notes, "pending": check.pending}))  # fmt: skip
    else:
        for problem in check.problems:
            print(f"audit: {problem}", file=sys.stderr)
        if check.notes:
            print(f"incident workflow: {check.notes} notes checked against their records"
                  f" ({check.pending} reopen notes of the receiver not yet sealed)",
                  file=sys.stdout if check.ok else sys.stderr)  # fmt: skip
        trust = "given with --public-key" if check.pinned else "registered in the store"
        print(
            f"acknowledgement audit: {'OK' if check.ok else 'DAMAGED'}, {check.records} "
            f"records, {check.acks} acknowledgements, {check.checkpoints} checkpoints, head "
            f"seq {check.head_seq} {check.head}; keys {', '.join(check.keys) or 'none'} "
            f"({trust})",
            file=sys.stdout if check.ok else sys.stderr,
        )
    return EXIT_OK if check.ok else EXIT_FAILED


def _key(cfg: ReceiverConfig) -> int:
    from edge.evidence.keys import NodeKey, SigningKeyError, public_pem
    from edge.receiver.ackaudit.local import key_path

    path = key_path(cfg.data_dir, cfg.receiver.name)
    if not path.exists():
        print(f"{path}: no audit key yet (the receiver makes it at its first acknowledgement)",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    try:
        key = NodeKey(path)
    except SigningKeyError as e:
        print(e, file=sys.stderr)
        return EXIT_FAILED
    print(f"# receiver {cfg.receiver.name} audit key {key.id}")
    print(public_pem(key.public), end="")
    return EXIT_OK


def _export(store: ReceiverStore, path: Path) -> int:
    from edge.receiver.ackaudit.chain import read_head
    from edge.receiver.store.chainreads import record_texts

    rows = record_texts(store.db)
    with store.db.transaction() as cur:
        head = read_head(cur)
    try:
        with path.open("x", encoding="utf-8") as f:
            f.writelines(f"{text}\n" for text in rows)
    except OSError as e:
        print(f"{path}: cannot write the export: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    signed = f"head seq {head.seq} {head.hash} signed by key {head.key_id}" if head else "empty"
    print(f"exported {len(rows)} records to {path}; {signed}")
    return EXIT_OK
