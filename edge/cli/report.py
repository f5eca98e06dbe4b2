"""``edge report``: the node's signed sharing report for a period (what was delivered to whom,
the cameras kept private, the masks in force, the changes to what is shared), and
``edge report verify``: checking one offline."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edge.cli import report_reconcile
from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_STATE, EXIT_USAGE, SubParsers

if TYPE_CHECKING:
    from edge.report.check import ReportCheck
    from edge.report.shapes import SharingReport
    from edge.report.write import Period

_DESCRIPTION = """\
Write the node's sharing report for a period into the new directory --out: report.json (for
programs), report.html (for people: Bahasa Indonesia and English, times in WIB), chain.jsonl
(the audit records it rests on, verbatim), overlays/CAM.png (each camera's view with its
hidden areas, over its latest snapshot; --no-pictures: on grey canvases) and SIGNATURE.json
(every file signed with the node's key). Made from the audit log and the config in force,
with the changes recorded in the chain.

Times: UNIX seconds, RFC 3339 with an offset (2026-12-07T00:00:00+07:00), or a date or
date-time without one, read as WIB (2026-12-07, 2026-12-07T08:00).

exit status:
  0  written
  2  a bad period (--since not before --until, a time not understood), the config, or --out
     already there
  3  the node's state: its signing key is missing or unusable, or its audit log cannot be
     read as a whole chain (the file and line are named: see edge audit verify)
"""

_VERIFY = """\
Check a sharing report offline: SIGNATURE.json over every file (with --public-key, that the
node's key signed it; without, only that nothing changed since it was signed), every record
of chain.jsonl (hash, link to the one before, each checkpoint's signature), that report.json
says what those records say (its items, counts and changes are made again from them) and,
with --audit-log, that every record is the log's own line and the log delivered nothing else
in the period.

exit status:
  0  the report holds
  1  a problem (each named on a line of stderr)
  2  a public key or the directory cannot be read
"""


def register(sub: SubParsers) -> None:
    """Add ``edge report`` and its action ``verify``."""
    p = sub.add_parser(
        "report",
        help="the signed report of what the node shared (verify: check one offline)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", "-c", type=Path, help="node config (TOML)")
    p.add_argument("--since", metavar="TIME", help="start of the period (inclusive)")
    p.add_argument("--until", metavar="TIME", help="end of the period (exclusive)")
    p.add_argument("--destination", metavar="NAME", help="only what went to this destination")
    p.add_argument("--out", type=Path, metavar="DIR", help="new directory for the report")
    p.add_argument(
        "--no-pictures",
        action="store_true",
        help="draw the hidden areas on grey canvases, not over the cameras' latest snapshots "
        "(for a report published where the people a snapshot shows must not be)",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.set_defaults(handler=handle)
    actions = p.add_subparsers(dest="report_action", metavar="ACTION")
    v = actions.add_parser(
        "verify",
        help="check a report offline; exit 1 with the problems",
        description=_VERIFY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("directory", type=Path, help="the report's directory")
    v.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="the node's public key (edge keys export, PEM or --json); repeat for each key",
    )
    v.add_argument("--audit-log", type=Path, metavar="PATH", help="the node's audit.log")
    v.add_argument("--json", action="store_true", help="machine-readable")
    v.set_defaults(handler=handle_verify)
    report_reconcile.register(actions)


def parse_time(text: str) -> float:
    """UNIX seconds from *text*: seconds, RFC 3339 with an offset, or a date/date-time
    without one read as WIB. Raises ``ValueError`` naming the text."""
    from edge.core.displaytime import DisplayTimeError, DisplayZone, moment

    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return moment(text).timestamp()
        except DisplayTimeError as e:
            raise ValueError(f"{text!r}: neither UNIX seconds nor a date/time") from e
    if at.tzinfo is None:
        at = at.replace(tzinfo=DisplayZone().tz)
    return at.timestamp()


def _usage(message: str) -> int:
    print(f"report: {message}", file=sys.stderr)
    return EXIT_USAGE


def _period(args: argparse.Namespace) -> Period | str:
    """The period asked for, or why the arguments do not give one."""
    from edge.report.write import Period, ReportError

    missing = [f"--{n}" for n in ("config", "since", "until", "out") if not getattr(args, n)]
    if missing:
        return f"{', '.join(missing)} required (or: edge report verify DIR)"
    try:
        return Period(parse_time(args.since), parse_time(args.until))
    except ValueError as e:
        return f"--since/--until {e}"
    except ReportError as e:
        return str(e)


def handle(args: argparse.Namespace) -> int:
    """Write the report."""
    from edge.cli.asservice import node_config
    from edge.evidence.keys import MISSING_HINT, NodeKey, SigningKeyError
    from edge.report.chainfile import ChainFileError
    from edge.report.write import ReportError, write_report

    period = _period(args)
    if isinstance(period, str):
        return _usage(period)
    cfg = node_config(args.config)
    if args.destination and args.destination not in {d.name for d in cfg.destinations}:
        names = ", ".join(d.name for d in cfg.destinations) or "none"
        print(f"report: note: {args.config} has no destination {args.destination!r} now "
              f"(it has: {names}); reporting what the chain says was sent to it",
              file=sys.stderr)  # fmt: skip
    try:
        key = NodeKey(cfg.key_path)
    except SigningKeyError as e:
        hint = MISSING_HINT.replace("<node.toml>", str(args.config))
        print(f"report: {str(e).replace(MISSING_HINT, hint)}", file=sys.stderr)
        return EXIT_STATE
    try:
        report = write_report(cfg, key, period, args.out, destination=args.destination,
                              pictures=not args.no_pictures)  # fmt: skip
    except ReportError as e:
        return _usage(str(e))
    except ChainFileError as e:
        print(f"report: {e}; no report written (check it: edge audit verify "
              f"{cfg.audit_path})", file=sys.stderr)  # fmt: skip
        return EXIT_STATE
    except OSError as e:
        print(f"report: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return EXIT_STATE
    _print_written(args, report)
    return EXIT_OK


def _print_written(args: argparse.Namespace, report: SharingReport) -> None:
    types = [i["type"] for i in report["delivered"]]
    summary = {t: types.count(t) for t in ("event", "clip", "snapshot")}
    if args.json:
        print(json.dumps({"out": str(args.out), "delivered": summary,
                          "chain": report["chain"], "key_id": report["key_id"]}))  # fmt: skip
        return
    c = report["chain"]
    records = f"records {c['first_seq']}-{c['last_seq']}" if c["first_seq"] else "no record"
    print(f"{args.out}: {summary['event']} events, {summary['clip']} clips, "
          f"{summary['snapshot']} snapshots delivered; {records}; signed with key "
          f"{report['key_id']}")  # fmt: skip


def _check_json(check: ReportCheck) -> str:
    return json.dumps(
        {
            "ok": check.ok,
            "directory": str(check.directory),
            "key_id": check.key_id,
            "records": check.records,
            "checkpoints": check.checkpoints,
            "delivered": check.delivered,
            "problems": check.problems,
            "notes": check.notes,
        }
    )


def handle_verify(args: argparse.Namespace) -> int:
    """Check a report offline."""
    from edge.cli.audit import _public_key
    from edge.core.errors import EvidenceError
    from edge.report.check import verify_report

    if args.report_action != "verify":  # pragma: no cover - argparse sets it
        return EXIT_USAGE
    try:
        keys = [_public_key(p) for p in args.public_key]
    except (OSError, ValueError, KeyError, EvidenceError) as e:
        return _usage(f"cannot read the public key: {e}")
    if not args.directory.is_dir():
        return _usage(f"{args.directory}: not a directory")
    check = verify_report(args.directory, keys, args.audit_log)
    if args.json:
        print(_check_json(check))
    else:
        for problem in check.problems:
            print(f"{args.directory}: {problem}", file=sys.stderr)
        for note in check.notes:
            print(f"{args.directory}: note: {note}", file=sys.stderr)
        verdict = "OK" if check.ok else f"FAILED ({len(check.problems)} problems)"
        against = f"; matches {args.audit_log}" if args.audit_log and check.ok else ""
        print(f"{args.directory}: {verdict}: signed by key {check.key_id}, {check.records} "
              f"records, {check.checkpoints} checkpoints, {check.delivered} items "
              f"delivered{against}")  # fmt: skip
    return EXIT_OK if check.ok else EXIT_FAILED
