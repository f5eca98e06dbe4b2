"""``edge audit verify``: check the hash chain of the log of what was shared."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SubParsers


def register(sub: SubParsers) -> None:
    """Add `edge audit` and its action `verify`."""
    p = sub.add_parser("audit", help="the hash-chained log of what was shared")
    audit = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    a = audit.add_parser("verify", help="check the chain; exit 1 naming the first bad record")
    a.add_argument("path", type=Path, help="audit log (DATA_DIR/audit.log)")
    a.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Verify the audit log; exit 1 naming the first bad record, 2 if it cannot be read."""
    from edge.evidence.audit import verify_log

    try:
        check = verify_log(args.path)
    except OSError as e:
        print(f"audit: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    "ok": check.ok,
                    "records": check.records,
                    "head": check.head,
                    "bad_line": check.bad_line,
                    "reason": check.reason,
                }
            )
        )
    elif check.ok:
        print(f"{args.path}: OK, {check.records} records, head {check.head}")
    else:
        print(
            f"{args.path}:{check.bad_line}: {check.reason} (after {check.records} good records)",
            file=sys.stderr,
        )
    return EXIT_OK if check.ok else EXIT_FAILED
