"""``edge receive -c receiver.toml retention [--dry-run] [--now ISO] [--json]``: one
retention pass now (:mod:`edge.receiver.retention`): clips and snapshots older than
``[retention] days`` are recorded in the audit chain and deleted, unless their incident is
on hold; files an earlier pass could not delete are tried again. The running receiver does
the same every ``[retention] check_interval_s``; this is for a check (``--dry-run``: what
would go, nothing written) or a pass at a chosen moment (``--now``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.store import ReceiverStore

_DESCRIPTION = """\
Delete the clips and snapshots stored more than [retention] days ago, unless an incident
they belong to is on hold; each deletion is a retention_delete record in the receiver's
audit chain, committed before the file is removed. days = 0 keeps everything (only files
an earlier pass could not remove are tried again).

exit status:
  0  done (or nothing due)
  1  the clock reads before the audit chain's last record, or the chain is damaged
     (nothing deleted), or a file could not be removed (tried again by the next pass)
  2  a bad --now
"""


def register(actions: Any) -> None:
    """Add ``retention`` to the actions of ``edge receive``."""
    r = actions.add_parser(
        "retention",
        help="one retention pass now: delete (and record) clips and snapshots past "
        "[retention] days, held incidents excepted",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--dry-run", action="store_true",
                   help="list what would be deleted and what is held; write nothing")  # fmt: skip
    r.add_argument("--now", metavar="ISO",
                   help="the pass's moment (ISO 8601; without an offset: in the console's "
                   "time zone); its records carry it. Default: the clock")  # fmt: skip
    r.add_argument("--json", action="store_true", help="machine-readable")


def parse_now(text: str, zone: str) -> float:
    """*text* (ISO 8601) as UNIX seconds; a time without an offset is in *zone*."""
    from edge.core.displaytime import zone_info

    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_info(zone))
    return moment.timestamp()


def handle(args: argparse.Namespace, store: ReceiverStore, cfg: ReceiverConfig) -> int:
    """Run (or, ``--dry-run``, show) one pass."""
    from edge.receiver.ackaudit.appender import Appender
    from edge.receiver.ackaudit.chain import ChainError
    from edge.receiver.retention import RetentionRefused, dry_run, run_pass

    try:
        now = parse_now(args.now, cfg.console.timezone) if args.now else None
    except ValueError as e:
        print(f"--now {args.now!r}: not an ISO 8601 time ({e})", file=sys.stderr)
        return EXIT_USAGE
    days = cfg.retention.days
    try:
        if args.dry_run:
            done = dry_run(store, days, time.time() if now is None else now)
        else:
            appender = Appender(store.db, cfg.data_dir, cfg.receiver.name)
            done = run_pass(store, appender, days, now=now, batch=cfg.retention.batch)
    except RetentionRefused as e:
        print(f"retention: {e}", file=sys.stderr)
        return EXIT_FAILED
    except ChainError as e:
        print(f"retention: nothing deleted: the audit chain is damaged ({e}); see "
              "edge receive audit verify", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    if args.json:
        print(json.dumps(done.as_dict(), indent=2))
        return EXIT_FAILED if done.failed else EXIT_OK
    zone = cfg.console.zone
    verb = "would delete" if done.dry_run else "deleted"
    for item in done.deleted:
        print(f"{verb}\t{item['type']}\t{item['site']}/{item['node']}/{item['id']}\t"
              f"stored {zone.when(item['stored'])}\t{item['age_days']:.1f} days")  # fmt: skip
    for item in done.held:
        print(f"held\t{item['type']}\t{item['site']}/{item['node']}/{item['id']}\t"
              f"stored {zone.when(item['stored'])}\t{item['age_days']:.1f} days")  # fmt: skip
    for problem in done.failed:
        print(f"retention: cannot delete {problem} (tried again next pass)", file=sys.stderr)
    keep = "kept forever (days = 0)" if days <= 0 else f"kept {days} days"
    print(f"retention {'dry run' if done.dry_run else 'pass'} at {zone.when(done.now)}: "
          f"clips and snapshots {keep}; {len(done.deleted)} {verb}, {len(done.held)} held, "
          f"{done.unlinked} files removed, {done.gone} already gone, {len(done.failed)} "
          "could not be removed")  # fmt: skip
    return EXIT_FAILED if done.failed else EXIT_OK
