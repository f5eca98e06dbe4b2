"""``edge audit verify``: check the hash chain of the log of what was shared, its signed
checkpoints and, with a head archived from a heartbeat, that nothing was cut off."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from edge.evidence.verify import AuditCheck

EXIT_TORN = 4
"""Every record is whole but the last line was cut short (crash, full disk)."""

_DESCRIPTION = """\
Check the audit log's hash chain; with --public-key also the signature of every checkpoint
(the node signs the chain head every 100 records and at every heartbeat); with --head, that
a head archived from a heartbeat (its audit_head) is still in the chain. Records after the
last checkpoint are reported as not signed yet.

exit status:
  0  intact (every checkpoint signature good with --public-key, the head found with --head)
  1  edited: a record altered, deleted, inserted or moved (a bad record followed by others),
     or a checkpoint whose signature does not verify (the chain was recomputed); or, with
     --head, "the log was cut or rewritten after HEAD" (that head is not in the chain)
  2  the log or a public key cannot be read
  4  torn tail: every record intact, only the last line is incomplete (a write cut short
     by a crash or a full disk); the node moves it aside, recorded, at its next start
"""


def register(sub: SubParsers) -> None:
    """Add `edge audit` and its action `verify`."""
    p = sub.add_parser("audit", help="the hash-chained log of what was shared")
    audit = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    a = audit.add_parser(
        "verify",
        help="check the chain and its signed checkpoints; exit 1 edited, 4 torn tail",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("path", type=Path, help="audit log (DATA_DIR/audit.log)")
    a.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="the node's public key (the output of edge keys export, PEM or --json); "
        "repeat for every key the node had",
    )
    a.add_argument("--head", metavar="HASH", help="a chain head archived from a heartbeat")
    a.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=handle)


def _public_key(path: Path) -> Ed25519PublicKey:
    """The key in a file written by ``edge keys export`` (PEM after a comment, or JSON)."""
    from edge.evidence.keys import load_public

    text = path.read_text()
    if text.lstrip().startswith("{"):
        text = str(json.loads(text)["public_key_pem"])
    begin = text.find("-----BEGIN")
    return load_public(text[begin:] if begin >= 0 else text)


def _summary(check: AuditCheck) -> str:
    if not check.checkpoints:
        signed = "no signed checkpoint"
    elif check.signatures_checked:
        signed = f"{check.checkpoints} checkpoints, every signature verified"
    else:
        signed = f"{check.checkpoints} checkpoints (signatures not checked: no --public-key)"
    if check.unsigned:
        signed += f"; {check.unsigned} records after seq {check.signed_seq} not signed yet"
    return signed


def handle(args: argparse.Namespace) -> int:
    """Verify the audit log; the exit status tells intact, edited, torn or unreadable."""
    from edge.core.errors import EvidenceError
    from edge.evidence.audit import verify_log

    try:
        keys = [_public_key(p) for p in args.public_key]
    except (OSError, ValueError, KeyError, EvidenceError) as e:
        print(f"audit: cannot read the public key: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        check = verify_log(args.path, keys, args.head)
    except OSError as e:
        print(f"audit: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    code = {"ok": EXIT_OK, "torn": EXIT_TORN}.get(check.verdict, EXIT_FAILED)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": check.ok,
                    "verdict": check.verdict,
                    "records": check.records,
                    "head": check.head,
                    "bad_line": check.bad_line,
                    "reason": check.reason,
                    "checkpoints": check.checkpoints,
                    "signatures_checked": check.signatures_checked,
                    "signed_seq": check.signed_seq,
                    "unsigned": check.unsigned,
                    "head_seq": check.head_seq,
                }
            )
        )
    elif check.ok:
        found = f"; head {args.head} is seq {check.head_seq}" if args.head else ""
        print(
            f"{args.path}: OK, {check.records} records, head {check.head}; {_summary(check)}{found}"
        )
    elif check.cut:
        print(f"{args.path}: {check.reason} (chain of {check.records} records)", file=sys.stderr)
    else:
        print(
            f"{args.path}:{check.bad_line}: {check.reason} (after {check.records} good records)",
            file=sys.stderr,
        )
    return code
