"""``edge receive -c receiver.toml access``: the police access log (who at the police viewed
which alert, snapshot or clip, and downloaded which evidence, from the receiver's signed
audit chain), newest first, times in the display zone; ``access export``: the signed
export of a period (export.json, chain.jsonl, export.html, SIGNATURE.json); ``access
verify DIR``: check an export offline (:func:`verify_dir` is also what ``edge report verify``
runs on an export, so a third party needs no receiver config)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.store import ReceiverStore

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_DESCRIPTION = """\
Every access to shared material at this receiver, from its signed audit chain: an alert's
detail or an incident's page viewed (view_detail), a snapshot shown (view_snapshot), a clip
played (play_clip: the byte ranges [start, end) of one viewing, merged), evidence downloaded
(download_evidence); by whom (user, role), when. Each is recorded before a byte is served;
what cannot be recorded is not served (503). A viewing (one user's requests of one clip or
snapshot less than 5 minutes apart, at most an hour) is listed once it is chained: when it
ends, within a minute on a running dashboard, or when the receiver stops or starts again.

--since/--until: an age (30m, 12h, 1d, 2w) or a date/time (2026-12-01, 2026-12-01T08:00;
without an offset in the display zone, WIB by default).

exit status: 0 done; 1 the export or its verification failed (the problems on stderr);
2 a bad argument.
"""


def register(actions: Any) -> None:
    """Add ``access`` to the actions of ``edge receive``."""
    a = actions.add_parser("access", help="the police access log (export, verify)",
                           description=_DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = a.add_subparsers(dest="access_action", metavar="ACCESS_ACTION")
    e = sub.add_parser("export", help="the signed export of a period into a new directory")
    v = sub.add_parser("verify", help="check an export offline; exit 1 with the problems")
    v.add_argument("directory", type=Path, help="the export's directory")
    v.add_argument("--public-key", type=Path, action="append", default=[], metavar="PEM",
                   help="the receiver's public key (edge receive audit key); default: this "
                   "receiver's own")  # fmt: skip
    for p in (a, e):
        p.add_argument("--since", default="1d", metavar="TIME", help="from (default 1d ago)")
        p.add_argument("--until", metavar="TIME", help="to (default now)")
        p.add_argument("--user", help="only this user's accesses")
        p.add_argument("--node", metavar="SITE[/NODE]", help="only this site or node")
    e.add_argument("--out", type=Path, required=True, metavar="DIR", help="new directory")
    a.add_argument("--limit", type=int, default=500, help="at most this many (default 500)")
    for p in (a, e, v):
        p.add_argument("--json", action="store_true", help="machine-readable")


def parse_when(text: str, zone: str, now: float | None = None) -> float:
    """*text* as UNIX seconds: an age before *now* (``30m``, ``12h``, ``1d``, ``2w``) or an
    ISO date/time (in *zone* without an offset). Raises ``ValueError``."""
    from datetime import datetime

    from edge.core.displaytime import zone_info

    t = text.strip()
    if t[:-1].isdigit() and t[-1:] in _UNITS:
        return (time.time() if now is None else now) - int(t[:-1]) * _UNITS[t[-1]]
    try:
        moment = datetime.fromisoformat(t)
    except ValueError as e:
        raise ValueError(f"{text!r}: an age (30m, 12h, 1d, 2w) or a date/time "
                         "(2026-12-01, 2026-12-01T08:00)") from e  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_info(zone))
    return moment.timestamp()


def _filters(args: argparse.Namespace, cfg: ReceiverConfig) -> dict[str, Any]:
    site, _, node = (args.node or "").partition("/")
    return {
        "since": parse_when(args.since, cfg.console.timezone),
        "until": parse_when(args.until, cfg.console.timezone) if args.until else time.time(),
        "user": args.user or None,
        "site": site or None,
        "node": node or None,
    }


def handle(args: argparse.Namespace, store: ReceiverStore, cfg: ReceiverConfig) -> int:
    """``access``, ``access export`` or ``access verify``."""
    if args.access_action == "verify":
        keys = args.public_key or None
        return verify_dir(args.directory, keys, args.json, cfg)
    try:
        f = _filters(args, cfg)
    except ValueError as e:
        print(f"access: --since/--until {e}", file=sys.stderr)
        return EXIT_USAGE
    if f["since"] > f["until"]:
        print("access: --since is after --until", file=sys.stderr)
        return EXIT_USAGE
    if args.access_action == "export":
        return _export(args, store, cfg, f)
    return _list(args, store, cfg, f)


def _list(args: argparse.Namespace, store: ReceiverStore, cfg: ReceiverConfig,
          f: dict[str, Any]) -> int:  # fmt: skip
    from edge.receiver.access.log import accesses
    from edge.receiver.access.record import pending

    rows = accesses(store.db, **f, limit=max(1, args.limit))
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    zone = cfg.console.zone
    print("\t".join(("time", "user", "role", "action", "type", "id", "site/node", "ranges")))
    for r in rows:
        spans = r.get("ranges") or []
        ranges = ",".join(f"{a}-{b - 1}" for a, b in spans[:8]) + (" ..." if len(spans) > 8 else "")
        print("\t".join(str(x) for x in (
            zone.when(r["time"]), r["user"], r["role"] or "", r["action"], r["type"], r["id"],
            f"{r['site']}/{r['node']}", ranges + ("" if not spans else " bytes"))))  # fmt: skip
    open_now = pending(store.db)
    if open_now:
        print(f"({len(open_now)} viewings still open: listed once chained, at the latest when "
              "the receiver stops or starts again)", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _appender(store: ReceiverStore, cfg: ReceiverConfig) -> Any:
    from edge.receiver.ackaudit.appender import Appender

    return Appender(store.db, cfg.data_dir, cfg.receiver.name)


def _export(args: argparse.Namespace, store: ReceiverStore, cfg: ReceiverConfig,
            f: dict[str, Any]) -> int:  # fmt: skip
    import getpass

    from edge.receiver.access.export import ExportError, write_export
    from edge.receiver.access.verify import verify_export

    appender = _appender(store, cfg)
    try:
        out = write_export(store, appender, f["since"], f["until"], args.out, site=f["site"],
                           node=f["node"], user=f["user"], made_by=f"cli:{getpass.getuser()}",
                           zone=cfg.console.zone)  # fmt: skip
    except ExportError as e:
        print(f"access export: {e}", file=sys.stderr)
        return EXIT_FAILED
    check = verify_export(out, [appender.key().public])
    doc = json.loads((out / "export.json").read_text(encoding="utf-8"))
    summary = {"out": str(out), **{k: len(doc[k]) for k in ("accesses", "held", "deletions",
               "holds")}, "key_id": doc["key_id"], "chain": doc["chain"],
               "problems": check.problems}  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for p in check.problems:
            print(f"{out}: {p}", file=sys.stderr)
        c = doc["chain"]
        print(f"{out}: {summary['accesses']} accesses, {summary['held']} items held, "
              f"{summary['deletions']} deletions, {summary['holds']} holds; chain seq "
              f"{c['first_seq']}..{c['last_seq']}; signed by key {doc['key_id']}")  # fmt: skip
    return EXIT_OK if check.ok else EXIT_FAILED


def verify_dir(directory: Path, keys: list[Path] | None, as_json: bool,
               cfg: ReceiverConfig | None = None) -> int:  # fmt: skip
    """Check the export *directory* with the public keys in the PEM files *keys* (None:
    *cfg*'s receiver's own key); print the verdict; the exit status."""
    from edge.evidence.keys import SigningKeyError, load_public
    from edge.receiver.access.verify import verify_export

    try:
        if keys:
            publics = [load_public(_pem(p.read_text(encoding="utf-8"))) for p in keys]
        elif cfg is not None:
            from edge.evidence.keys import NodeKey
            from edge.receiver.ackaudit.local import key_path

            path = key_path(cfg.data_dir, cfg.receiver.name)
            if not path.exists():
                raise ValueError(f"{path}: this receiver has no audit key yet; give --public-key")
            publics = [NodeKey(path).public]
        else:
            raise ValueError("--public-key PEM is needed")
    except (OSError, ValueError, SigningKeyError) as e:
        print(f"access verify: cannot read the public key: {e}", file=sys.stderr)
        return EXIT_USAGE
    check = verify_export(directory, publics)
    if as_json:
        found = {"ok": check.ok, "records": check.records, "accesses": check.accesses,
                 "problems": check.problems}  # fmt: skip
        print(json.dumps(found, indent=1))
    else:
        for p in check.problems:
            print(f"{directory}: {p}", file=sys.stderr)
        verdict = "OK" if check.ok else f"FAILED ({len(check.problems)} problems)"
        print(f"{directory}: {verdict}: {check.records} chain records, {check.accesses} "
              "accesses")  # fmt: skip
    return EXIT_OK if check.ok else EXIT_FAILED


def _pem(text: str) -> str:
    begin = text.find("-----BEGIN")
    return text[begin:] if begin >= 0 else text


def started(web: Any) -> None:
    """The dashboard *web* (a ``WebServer``) started: chain the viewings left pending."""
    from edge.receiver.web import accesslog

    accesslog.started(web.app)
    accesslog.sweeping(web.app)  # viewings whose gap elapsed chained every minute


def stopped(web: Any) -> None:
    """The dashboard *web* stopped serving: chain its open viewings."""
    from edge.receiver.web import accesslog

    accesslog.stopped(web.app)
