"""``edge receive list`` and ``show``: the stored events from a terminal. ``list`` filters by
site, node (``NODE`` or ``SITE/NODE``), kind, severity, the workflow status of the event's
incident (``--state``, ``--unacked``) and age (``--since 1h``); a name that is not known is
an error naming the known ones. ``show`` takes a unique prefix of an event id (several:
the candidates). Human output is in the receiver's display zone with its label (``[console]
timezone``, ``zone_label``); ``--json`` is the stored fields as they are."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from edge.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from edge.core.displaytime import DisplayZone
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.database import Database
    from edge.receiver.store.store import ReceiverStore

SEVERITIES = ("info", "warning", "alarm", "critical")
STATES = ("new", "acknowledged", "in_progress", "closed", "open")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
SHOWN_KNOWN = 30
"""Known names listed in an error at most (then how many more)."""
SHOWN_CANDIDATES = 20


class Refused(Exception):
    """A filter naming something unknown, or a bad form: the message says which and what
    is accepted."""


def duration(text: str) -> float:
    """``--since``: ``90``/``90s``, ``30m``, ``1h``, ``2d``, ``1w`` in seconds."""
    m = _DURATION.match(text)
    if not m or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: a positive number with s, m, h, d or w "
            "(e.g. 90s, 30m, 1h, 2d; no unit: seconds)"
        )
    return float(m[1]) * UNITS[m[2] or "s"]


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``list`` and ``show`` to ``edge receive``'s actions."""
    ls = actions.add_parser(
        "list",
        help="events, newest first (times in the display zone)",
        description="Events newest first. --state/--unacked filter by the workflow status of "
        "the event's incident. Unknown sites, nodes and kinds are errors naming the known "
        "ones (exit 2).",
    )
    ls.add_argument("--site", help="warehouse (site id)")
    ls.add_argument("--node", help="NODE, or SITE/NODE")
    ls.add_argument("--kind", help="event kind, e.g. door_open, person, smoke")
    ls.add_argument("--severity", choices=SEVERITIES)
    ls.add_argument("--state", choices=STATES,
                    help="the incident's workflow status (open: any but closed)")  # fmt: skip
    ls.add_argument("--unacked", action="store_true",
                    help="only events of incidents nobody acknowledged (status new)")  # fmt: skip
    ls.add_argument("--since", type=duration, metavar="AGE",
                    help="received within AGE: 90s, 30m, 1h, 2d (no unit: seconds)")  # fmt: skip
    ls.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    s = actions.add_parser(
        "show",
        help="one event with its clip and verification (by a unique prefix of its id)",
    )
    s.add_argument("id", help="the event id, or a unique prefix of it")
    s.add_argument("--node", help="SITE/NODE, when several nodes have an event with this id")
    for a in (ls, s):
        a.add_argument("--json", action="store_true", help="machine-readable")


def _known(what: str, value: str, known: Sequence[str]) -> str:
    shown = ", ".join(known[:SHOWN_KNOWN])
    more = f" and {len(known) - SHOWN_KNOWN} more" if len(known) > SHOWN_KNOWN else ""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.5)
    parts = [f"unknown {what} {value!r}"]
    if close:
        parts.append(f"did you mean {close[0]!r}?")
    parts.append(f"known: {shown or '(none)'}{more}")
    return "; ".join(parts)


def search_of(db: Database, args: argparse.Namespace) -> Any:
    """The :class:`EventSearch` of ``list``'s arguments; :class:`Refused` for a site, node or
    kind that is not known, or a node not in the form NODE or SITE/NODE."""
    from edge.receiver.store import eventsearch

    site, node = args.site, args.node
    nodes = eventsearch.enrolled(db)
    if node is not None:
        parts = node.split("/")
        if len(parts) > 2 or not all(parts):
            raise Refused(f"--node {node!r}: give NODE or SITE/NODE (e.g. gudang-07 or "
                          "semarang/gudang-07)")  # fmt: skip
        if len(parts) == 2:
            if site is not None and site != parts[0]:
                raise Refused(f"--site {site!r} and --node {node!r} name different sites")
            site, node = parts
    if site is not None and site not in {s for s, _ in nodes}:
        raise Refused("--site: " + _known("site", site, sorted({s for s, _ in nodes})))
    if (
        node is not None
        and (site, node) not in nodes
        and (site is not None or node not in {n for _, n in nodes})
    ):
        pool = [f"{s}/{n}" for s, n in nodes if site is None or s == site]
        raise Refused("--node: " + _known("node", f"{site}/{node}" if site else node, pool))
    if args.kind is not None:
        kinds = eventsearch.known_kinds(db)
        if args.kind not in kinds:
            raise Refused("--kind: " + _known("kind", args.kind, kinds))
    if args.unacked and args.state not in (None, "new", "open"):
        raise Refused(f"--unacked (status new) and --state {args.state} exclude each other")
    if args.limit < 1:
        raise Refused(f"--limit {args.limit}: at least 1")
    since = None if args.since is None else time.time() - args.since
    return eventsearch.EventSearch(site=site, node=node, kind=args.kind,
                                   severity=args.severity, status=args.state,
                                   unacked=args.unacked, since=since, limit=args.limit)  # fmt: skip


def _zone(cfg: ReceiverConfig) -> DisplayZone:
    return cfg.console.zone


def list_events(store: ReceiverStore, cfg: ReceiverConfig, args: argparse.Namespace) -> int:
    """``edge receive list``."""
    from edge.receiver.store import eventsearch

    try:
        search = search_of(store.db, args)
    except Refused as e:
        print(f"edge receive list: {e}", file=sys.stderr)
        return EXIT_USAGE
    rows = eventsearch.events(store.db, search)
    if args.json:  # as before: the stored fields, no status
        out = [{k: v for k, v in r.items() if k != "status"} for r in rows]
        print(json.dumps(out, indent=2, default=str))
        return EXIT_OK
    from edge.receiver.places import from_config

    zone, places = _zone(cfg), from_config(cfg)
    cols = ("received", "site", "node", "kind", "severity", "state", "status", "camera",
            "sensor", "id")  # fmt: skip
    print("\t".join((*cols, "name")))
    for r in rows:
        cells = [zone.when(r[c]) if c == "received" else "" if r[c] is None else str(r[c])
                 for c in cols]  # fmt: skip
        cells.append(f"{places.site_label(r['site'])} / {places.node_label(r['site'], r['node'])}")
        print("\t".join(cells))
    return EXIT_OK


def find(db: Database, ident: str, node: str | None) -> dict[str, Any]:
    """The one event *ident* names (an id or a unique prefix; of *node* when given);
    LookupError listing the candidates when several match, or saying none does."""
    from edge.receiver.store import eventsearch, reads

    if node is not None and (node.count("/") != 1 or not all(node.split("/"))):
        raise LookupError(f"--node {node!r}: give SITE/NODE")
    found = eventsearch.by_prefix(db, ident, node, limit=SHOWN_CANDIDATES + 1)
    if not found:
        raise LookupError(
            f"no event with an id starting {ident!r}" + (f" of {node}" if node else "")
        )
    if len(found) > 1:
        exact = all(f["id"] == ident for f in found)
        lines = [f"  {f['site']}/{f['node']}  {f['id']}  {f['kind']}  {f['severity']}"
                 for f in found[:SHOWN_CANDIDATES]]  # fmt: skip
        more = "\n  ..." if len(found) > SHOWN_CANDIDATES else ""
        why = (f"event {ident} exists on several nodes: name one with --node SITE/NODE"
               if exact else f"{ident!r} starts several event ids: give more of one")  # fmt: skip
        raise LookupError(f"{why}\n" + "\n".join(lines) + more)
    one = found[0]
    event = reads.event(db, one["site"], one["node"], one["id"])
    if event is None:  # gone between the two reads
        raise LookupError(f"no event {one['id']}")
    return event


def show_event(store: ReceiverStore, cfg: ReceiverConfig, args: argparse.Namespace) -> int:
    """``edge receive show``."""
    from edge.cli import receive_keys

    try:
        data = find(store.db, args.id, args.node)
    except LookupError as e:
        print(f"edge receive show: {e}", file=sys.stderr)
        return EXIT_FAILED
    data["verification"] = receive_keys.verification(store.db, data)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    from edge.cli.receive_show import human

    print(human(store.db, data, _zone(cfg), cfg), end="")
    return EXIT_OK
