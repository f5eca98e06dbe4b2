"""Checking the police access log against the chain, as ack rows are checked: every access
record (kind ``access``) names a known action, a user, a role, its item's type and where the
item came from, and has its ``access_log`` row (the index the reads use) saying the same;
every ``access_log`` row has its record (a row inserted by hand, or its record removed, is
one line). Viewings not chained yet (``access_viewings``) are counted, not problems: they
are committed and the next request, stop or start chains them."""

from __future__ import annotations

import json

from edge.receiver.store import chainreads
from edge.receiver.store.database import Database

ACCESS = "access"
ACTIONS = ("view_detail", "view_snapshot", "play_clip", "download_evidence")
TYPES = ("event", "clip", "snapshot", "incident")
_ROW = ("time", "user", "action", "type", "id", "site", "node")


def _records(db: Database) -> dict[int, dict[str, object]]:
    rows = chainreads.records_of(db, ACTIONS)
    out = {}
    for seq, text in rows:
        try:
            rec = json.loads(str(text))
        except ValueError:
            continue  # the chain's walk names an unreadable record
        if isinstance(rec, dict) and rec.get("kind") == ACCESS:
            out[int(seq)] = rec
    return out


def _what(rec: dict[str, object]) -> str:
    return f"{rec.get('action')} of {rec.get('type')} {rec.get('id')} by {rec.get('user')}"


def check_accesses(db: Database, problems: list[str], upto: int) -> tuple[int, int]:
    """Check the access records and their index rows; returns (accesses, pending viewings).
    The rows are read before the records, and a record past *upto* (the chain's end as the
    walk read it) may lack its row: so what a receiver appends meanwhile is no problem."""
    rows = chainreads.access_index(db)
    records = _records(db)
    for seq, rec in records.items():
        needed = ("user", "role", "site", "type", *(() if rec.get("type") == "incident" else
                                                    ("node",)))  # fmt: skip
        missing = [f for f in needed if not rec.get(f)]
        if missing or rec.get("type") not in TYPES:
            problems.append(f"chain record seq {seq} ({_what(rec)}): an access record without "
                            f"{', '.join(missing) or 'a known type'}")  # fmt: skip
    indexed = set()
    for seq, *values in rows:
        indexed.add(int(seq))
        row = dict(zip(_ROW, values, strict=True))
        name = f"access log row seq {seq} ({row['action']} of {row['type']} {row['id']} by " \
               f"{row['user']})"  # fmt: skip
        found = records.get(int(seq))
        if found is None:
            problems.append(f"{name}: no access record in the chain (inserted, or its record "
                            "deleted)")  # fmt: skip
            continue
        differ = [f for f in _ROW if row[f] != found.get(f)
                  and not (f == "time" and _close(row[f], found.get(f)))]  # fmt: skip
        if differ:
            problems.append(f"{name}: {', '.join(differ)} differ from chain record seq {seq} "
                            "(edited)")  # fmt: skip
    for seq, rec in records.items():
        if seq not in indexed and seq <= upto:
            problems.append(f"chain record seq {seq} ({_what(rec)}): no access log row "
                            "(deleted: the access would not be listed)")  # fmt: skip
    return len(records), chainreads.pending_viewings(db)


def _close(a: object, b: object) -> bool:
    try:
        return abs(float(str(a)) - float(str(b))) < 0.001
    except ValueError:
        return False
