"""Checking retention and holds against the chain, as ack rows and incident notes are
checked: every ``retention_delete`` record has its clip or snapshot row marked deleted at
the record's time and seq (same sha256), every row marked deleted has its record (a row
marked by hand, or its record removed, is one line); every incident on hold is held as its
last ``hold`` record says (who, why, since when), and one released or never held is not
on hold. Holds and releases are incident records too: their notes are checked with the
workflow's (:mod:`.verify_incidents`)."""

from __future__ import annotations

import json

from edge.receiver.store import chainreads, retentionrows
from edge.receiver.store.database import Database

DELETE = "retention_delete"


def _records(db: Database, actions: tuple[str, ...]) -> list[dict[str, object]]:
    out = []
    for _, text in chainreads.records_of(db, actions):
        try:
            rec = json.loads(str(text))
        except ValueError:
            continue  # the chain's walk names an unreadable record
        if isinstance(rec, dict):
            out.append(rec)
    return out


def check_retention(db: Database, problems: list[str]) -> int:
    """Check deletions and holds; returns how many deletions the chain records."""
    deletions = _records(db, (DELETE,))
    recorded: dict[tuple[str, str, str, str], dict[str, object]] = {}
    for rec in deletions:
        kind = str(rec.get("kind"))
        key = (kind, str(rec.get("site")), str(rec.get("node")), str(rec.get("id")))
        recorded[key] = rec
    for kind in retentionrows.TABLES:
        rows = chainreads.deleted_items(db, kind)
        for site, node, item_id, sha256, deleted, seq in rows:
            name = f"{kind} {site}/{node}/{item_id}"
            found = recorded.pop((kind, str(site), str(node), str(item_id)), None)
            if found is None:
                problems.append(f"{name}: marked deleted by retention with no chain record "
                                "(edited, or its record deleted)")  # fmt: skip
                continue
            same = (found.get("seq") == seq and found.get("time") == float(deleted)
                    and found.get("sha256") == sha256)  # fmt: skip
            if not same:
                problems.append(f"{name}: its deletion differs from chain record seq "
                                f"{found.get('seq')} (edited)")  # fmt: skip
    for (kind, site, node, item_id), rec in recorded.items():
        what = f"retention deletion of {kind} {site}/{node}/{item_id}"
        problems.append(f"chain record seq {rec.get('seq')} ({what}): no such row marked "
                        "deleted (edited)")  # fmt: skip
    _check_holds(db, problems)
    return len(deletions)


def _check_holds(db: Database, problems: list[str]) -> None:
    last: dict[tuple[str, str], dict[str, object]] = {}
    for rec in _records(db, ("hold", "release")):
        if rec.get("kind") == "incident":
            last[(str(rec.get("site")), str(rec.get("id")))] = rec
    held = {(str(s), str(i)): (h, by, why) for s, i, h, by, why in chainreads.held_incidents(db)}
    for (site, incident), rec in last.items():
        name = f"incident {site}/{incident}"
        now = held.pop((site, incident), None)
        if rec.get("action") == "hold":
            want = (rec.get("time"), rec.get("user"), rec.get("reason"))
            if now is None:
                problems.append(f"{name}: not on hold, though chain record seq "
                                f"{rec.get('seq')} placed it on hold (edited)")  # fmt: skip
            elif (float(now[0]), now[1], now[2]) != want:
                problems.append(f"{name}: its hold differs from chain record seq "
                                f"{rec.get('seq')} (edited)")  # fmt: skip
        elif now is not None:
            problems.append(f"{name}: on hold, though chain record seq {rec.get('seq')} "
                            "released it (edited)")  # fmt: skip
    for site, incident in held:
        problems.append(f"incident {site}/{incident}: on hold with no chain record "
                        "(edited)")  # fmt: skip
