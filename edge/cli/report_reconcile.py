"""``edge report reconcile NODE_REPORT RECEIVER_EXPORT``: do a node's sharing report and a
receiver's access export agree? Each bundle is checked with its maker's public key
(``--node-key``, ``--receiver-key``), then the two are compared item by item
(:mod:`edge.report.reconcile`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

DESCRIPTION = """\
Compare a node's sharing report (edge report) with a receiver's access export (edge receive
access export): what the node delivered that the receiver does not hold (an item deleted by
the receiver's retention is listed as deleted, not missing), what the receiver holds as the
node's that the node never delivered (forged or misattributed), accesses to items outside the
agreement's scope or never delivered, and signature or chain problems of either bundle.

Give the makers' public keys (the node's: `edge keys export`; the receiver's: `edge receive
audit key`) to check who signed; without them each bundle is checked with the key it names.

exit status:
  0  the two agree
  1  findings: one line each on stdout
  2  a bundle or a key cannot be read, or the report covers several destinations and
     --destination names none
"""


def register(actions: Any) -> None:
    """Add ``reconcile`` to the actions of ``edge report``."""
    p = actions.add_parser(
        "reconcile",
        help="compare a node report with a receiver export; exit 1 with the findings",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("node_report", type=Path, metavar="NODE_REPORT", help="the report's directory")
    p.add_argument("receiver_export", type=Path, metavar="RECEIVER_EXPORT",
                   help="the export's directory")  # fmt: skip
    p.add_argument(
        "--node-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="the node's public key (repeat for a key replaced in the period)",
    )
    p.add_argument(
        "--receiver-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="the receiver's public audit key (repeat for several receivers)",
    )
    p.add_argument("--destination", metavar="NAME",
                   help="the node's destination the receiver is (default: the report's own, "
                   "or its only one)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=handle)


def _pems(paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ValueError(f"{path}: cannot read: {e.strerror or e}") from e
        begin = text.find("-----BEGIN")
        out.append(text[begin:] if begin >= 0 else text)
    return out


def handle(args: argparse.Namespace) -> int:
    """Load, check and compare the two bundles; print the result."""
    import sys

    from edge.report.reconcile import pick_destination, reconcile
    from edge.report.reconcile_load import UnreadableBundle, load, read_keys

    try:
        node_keys = read_keys(_pems(args.node_key))
        receiver_keys = read_keys(_pems(args.receiver_key))
        report = load(args.node_report, "report.json", node_keys)
        export = load(args.receiver_export, "export.json", receiver_keys)
    except (UnreadableBundle, ValueError) as e:
        print(f"edge report reconcile: {e}", file=sys.stderr)
        return EXIT_USAGE
    if pick_destination(report.doc, args.destination) is None:
        names = sorted({str(d.get("destination")) for d in report.doc.get("delivered") or []})
        print(f"edge report reconcile: {args.node_report} covers destinations "
              f"{', '.join(names) or '(none)'}: name the receiver's with --destination",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    result = reconcile(
        report.doc,
        export.doc,
        destination=args.destination,
        report_chain=report.records,
        export_chain=export.records,
        report_problems=report.problems,
        export_problems=export.problems,
    )
    result.notes[:0] = report.notes + export.notes
    if args.json:
        print(json.dumps(result.as_dict(), indent=1, sort_keys=True))
        return EXIT_OK if result.ok else EXIT_FAILED
    c = result.counts
    print(f"{result.site}/{result.node} -> {result.destination}: delivered {c['delivered']}, "
          f"held {c['held']}, matched {c['matched']}, deleted by retention {c['deleted']}, "
          f"accesses {c['accesses']}, not compared {c['not_compared']}")  # fmt: skip
    for item in result.deleted:
        gone = item["deleted"]
        print(f"deleted, not missing: {item['type']} {item['id']} ({gone.get('reason')}, "
              f"receiver record seq {gone.get('audit_seq')})")  # fmt: skip
    for note in result.notes:
        print(f"note: {note}")
    for f in result.findings:
        print(f"{f.code}: {f.detail}")
    print("agree" if result.ok else f"{len(result.findings)} finding(s)")
    return EXIT_OK if result.ok else EXIT_FAILED
