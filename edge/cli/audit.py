"""``edge audit verify``: check the hash chain of the log of what was shared, its signed
checkpoints and, with heads archived from heartbeats, that nothing was cut off."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from edge.evidence.anchors import Anchor
    from edge.evidence.verify import AuditCheck

EXIT_TORN = 4
"""Every record is whole but the last line was cut short (crash, full disk)."""

_DESCRIPTION = """\
Check the audit log's hash chain; with --public-key also the signature of every checkpoint
(the node signs the chain head every 100 records, at every heartbeat and at start), that a
change of key is recorded in the chain (key_change), and that no more follows the last
checkpoint than the node leaves unsigned (100 records, two heartbeat intervals: --interval).
With --head or --heads-file, that every head the receiver archived from the node's
heartbeats (edge receive heads SITE/NODE --json) is still in the chain; the head the node
keeps beside its log (audit.head) is checked the same way. A log missing or empty where a
head says it held records is cut.

exit status:
  0  intact (every checkpoint signature good with --public-key, every head found)
  1  edited: a record altered, deleted, inserted or moved (a bad record followed by others),
     a checkpoint whose signature does not verify (the chain was recomputed), or a key
     change the chain does not record; or cut: "the log was cut or rewritten after HEAD"
     (an archived head is not in the chain; the log missing or empty), or, with
     --public-key, checkpoints missing after the last one left
  2  the log (with no head to expect), a public key or a heads file cannot be read
  4  torn tail: every record intact, only the last line is incomplete (a write cut short
     by a crash or a full disk); the node moves it aside, recorded, at its next start
"""


def register(sub: SubParsers) -> None:
    """Add `edge audit` and its action `verify`."""
    p = sub.add_parser("audit", help="the hash-chained log of what was shared")
    audit = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    a = audit.add_parser(
        "verify",
        help="check the chain, its signed checkpoints and archived heads; exit 1 edited or cut",
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
    a.add_argument(
        "--head",
        action="append",
        default=[],
        metavar="HASH",
        help="a chain head archived from a heartbeat (repeatable)",
    )
    a.add_argument(
        "--heads-file",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="the heads the receiver archived: the output of edge receive heads SITE/NODE "
        "(--json or its table)",
    )
    a.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the node's heartbeat interval (health.interval_s, default 60)",
    )
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


def _anchors(args: argparse.Namespace) -> list[Anchor]:
    """--head, --heads-file and the node's audit.head beside the log."""
    from edge.evidence.anchors import head_anchor, read_heads, state_anchor

    anchors = [head_anchor(h) for h in args.head]
    for path in args.heads_file:
        anchors += read_heads(path)
    state = state_anchor(args.path)
    return anchors + ([state] if state is not None else [])


def _summary(check: AuditCheck, heads: list[str]) -> str:
    if not check.checkpoints:
        signed = "no signed checkpoint"
    elif check.signatures_checked:
        signed = f"{check.checkpoints} checkpoints, every signature verified"
    else:
        signed = f"{check.checkpoints} checkpoints (signatures not checked: no --public-key)"
    if check.unsigned:
        yet = "not signed yet" if check.ok else "unsigned"
        signed += f"; {check.unsigned} records after seq {check.signed_seq} {yet}"
    if check.missing:
        signed += f"; {len(check.missing)} of {check.anchors} heads kept outside it missing"
    elif check.anchors:
        signed += f"; {check.anchors} heads kept outside the log, every one in the chain"
    if len(heads) == 1 and check.head_seq is not None:
        signed += f"; head {heads[0]} is seq {check.head_seq}"
    return "; ".join([signed, *check.notes])


def _as_json(check: AuditCheck) -> str:
    return json.dumps(
        {
            "ok": check.ok,
            "verdict": check.verdict,
            "records": check.records,
            "head": check.head,
            "bad_line": check.bad_line,
            "reason": check.reason,
            "problems": list(check.problems),
            "checkpoints": check.checkpoints,
            "signatures_checked": check.signatures_checked,
            "signed_seq": check.signed_seq,
            "unsigned": check.unsigned,
            "head_seq": check.head_seq,
            "heads_checked": check.anchors,
            "heads_missing": list(check.missing),
            "notes": list(check.notes),
            "log_exists": check.exists,
        }
    )


def handle(args: argparse.Namespace) -> int:
    """Verify the audit log; the exit status tells intact, edited or cut, torn or unreadable."""
    from edge.core.errors import EvidenceError
    from edge.evidence.audit import verify_log

    try:
        keys = [_public_key(p) for p in args.public_key]
    except (OSError, ValueError, KeyError, EvidenceError) as e:
        print(f"audit: cannot read the public key: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        anchors = _anchors(args)
    except OSError as e:
        print(f"audit: cannot read {e.filename}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except EvidenceError as e:
        print(f"audit: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.interval <= 0:
        print(f"audit: --interval {args.interval:g}: must be more than 0 s", file=sys.stderr)
        return EXIT_USAGE
    try:
        check = verify_log(args.path, keys, anchors=anchors, interval_s=args.interval,
                           head=args.head[0] if len(args.head) == 1 else None)  # fmt: skip
    except OSError as e:
        print(f"audit: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    code = {"ok": EXIT_OK, "torn": EXIT_TORN}.get(check.verdict, EXIT_FAILED)
    if args.json:
        print(_as_json(check))
    elif check.ok:
        print(f"{args.path}: OK, {check.records} records, head {check.head}; "
              f"{_summary(check, args.head)}")  # fmt: skip
    elif check.bad_line is None:
        for problem in check.problems:
            print(f"{args.path}: {problem}", file=sys.stderr)
        whole = f"chain of {check.records} records" if check.exists else "no log"
        print(f"{args.path}: CUT ({whole}; {_summary(check, [])})", file=sys.stderr)
    else:
        print(
            f"{args.path}:{check.bad_line}: {check.reason} (after {check.records} good records)",
            file=sys.stderr,
        )
    return code
