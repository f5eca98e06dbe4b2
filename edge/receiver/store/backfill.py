"""Migration 8 on a store that already holds events: every stored event folded into its
occurrence and incident, in order of receipt, as if it had just been committed;
``events.occurrence`` filled; an incident one of whose events was acknowledged (the old
per-event acknowledgement) starts ``acknowledged`` by the first who did. Runs once, inside
the migration's transaction."""

from __future__ import annotations

import json
import time

from edge.core.logs import get_logger
from edge.receiver.store import occurrences
from edge.receiver.store.sqlcursor import SqlCursor as Cursor

log = get_logger(__name__)

PAGE = 5000
"""Events read and folded at a time."""


def backfill(cur: Cursor) -> None:
    """Fill occurrences and incidents from the events table (see the module)."""
    now = time.time()
    last, total = 0, 0
    while True:
        rows = cur.execute(
            "SELECT seq, site, node, id, payload, received FROM events WHERE seq > ?"
            " ORDER BY seq LIMIT ?",
            (last, PAGE),
        ).fetchall()
        if not rows:
            break
        page = []
        for seq, site, node, event_id, payload, received in rows:
            try:
                data = json.loads(payload)
            except ValueError:
                data = {}  # stored before validation was strict: an occurrence of its own
            data = data if isinstance(data, dict) else {}
            ev = occurrences.event_of(
                int(seq), str(site), str(node), str(event_id), data, received=float(received)
            )
            page.append(ev)
        occurrences.apply(cur, page, now)
        _set_occurrences(cur, [(e.seq, e.occurrence) for e in page])
        last, total = int(rows[-1][0]), total + len(rows)
    acked = cur.execute(
        "SELECT o.site, o.incident, a.username, a.time FROM acks a JOIN events e"
        " ON e.site = a.site AND e.node = a.node AND e.id = a.event_id JOIN occurrences o"
        " ON o.site = e.site AND o.node = e.node AND o.occurrence = e.occurrence"
        " ORDER BY a.time DESC"
    ).fetchall()
    first = {(str(s), str(i)): (str(u), float(t)) for s, i, u, t in acked}  # earliest wins
    cur.executemany(
        "UPDATE incidents SET status = 'acknowledged', acked_by = ?, acked_at = ?"
        " WHERE site = ? AND incident = ? AND status = 'new'",
        [(u, t, s, i) for (s, i), (u, t) in first.items()],
    )
    if total:
        log.info("store.console_backfilled", events=total, acknowledged=len(first))


def _set_occurrences(cur: Cursor, pairs: list[tuple[int, str]]) -> None:
    """events.occurrence of each (seq, occurrence): one statement on PostgreSQL (arrays),
    one per row on SQLite (cheap there)."""
    if cur.engine == "sqlite":
        cur.executemany(
            "UPDATE events SET occurrence = ? WHERE seq = ?", [(o, s) for s, o in pairs]
        )
        return
    source, params = cur.rows(("int", "text"), pairs)
    cur.execute(
        f"UPDATE events SET occurrence = v.o FROM ({source}) AS v (seq, o)"  # noqa: S608
        " WHERE events.seq = v.seq",
        params,
    )
