"""Bounded hostility: what the store keeps of refused messages and how it alerts about them,
so that a flood of forged messages costs a bounded amount of disk and one alert per source.

* The quarantine keeps each refused message's topic, reason, detail, sha256, size and only a
  prefix of its payload (``Bounds.keep_bytes``); it keeps ``Bounds.quarantine_rows`` rows at
  most, dropping the oldest first and counting what it dropped in the ``dropped`` table.
* ``forged_message`` alerts are aggregated per source (the site and node the topic names,
  else its first levels) and reason: one open alert counts every message of its window
  (``Bounds.forged_window_s`` from its first), with its first and last times.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.bounds import Bounds
from edge.receiver.messages import Rejected
from edge.receiver.store.database import Cursor

MAX_SOURCE = 128
"""Characters of a source (site, node or topic levels) kept in an alert."""
MAX_TEXT = 1024
"""Characters of a refused message's topic and detail kept in the quarantine."""
OVERFLOW = "*"
"""The node of the one alert that counts sources beyond ``Bounds.forged_max_sources``."""


def source_of(topic: str, node: str, prefix: str) -> tuple[str, str]:
    """(site, node) a refused message claims to come from: the topic's site and node when
    it names a node (``PREFIX/SITE/NODE/...``), else ``("", first two topic levels)``."""
    head = prefix.rstrip("/") + "/"
    if node and topic.startswith(head):
        levels = topic[len(head) :].split("/", 2)
        if len(levels) >= 2 and levels[1] == node:
            return levels[0][:MAX_SOURCE], node[:MAX_SOURCE]
    return "", "/".join(topic.split("/", 2)[:2])[:MAX_SOURCE]


def forged_ops(rejected: Sequence[Rejected], bounds: Bounds) -> list[AlertOp]:
    """One windowed ``forged_message`` raise per refused message (apply_alerts sums them
    per source and reason)."""
    ops = []
    for r in rejected:
        site, node = source_of(r.topic, r.node, bounds.topic_prefix)
        detail = f"{r.reason}: {r.detail}"[:MAX_TEXT] + f" (last: {r.topic[:MAX_SOURCE]})"
        ops.append(AlertOp(True, AlertKind.FORGED_MESSAGE, site, node, str(r.reason), detail,
                           window_s=bounds.forged_window_s))  # fmt: skip
    return ops


def quarantine(cur: Cursor, rejected: Sequence[Rejected], bounds: Bounds, now: float) -> int:
    """Keep *rejected* (payload prefixes), then drop the oldest rows beyond the cap;
    returns how many were dropped."""
    if not rejected:
        return 0
    cur.executemany(
        "INSERT INTO quarantine (received, topic, node, id, reason, detail, sha256, payload,"
        " size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(now, r.topic[:MAX_TEXT], r.node[:MAX_SOURCE], r.id[:MAX_SOURCE], str(r.reason),
          r.detail[:MAX_TEXT], r.sha256, r.payload[: bounds.keep_bytes], len(r.payload))
         for r in rejected],
    )  # fmt: skip
    row = cur.execute("SELECT MAX(seq) FROM quarantine").fetchone()
    newest = int(row[0]) if row and row[0] is not None else 0
    gone = cur.execute(
        "DELETE FROM quarantine WHERE seq <= ? RETURNING COALESCE(size, length(payload))",
        (newest - bounds.quarantine_rows,),
    ).fetchall()
    if gone:
        count_dropped(cur, "quarantine", len(gone), sum(int(b or 0) for (b,) in gone), now)
    return len(gone)


def count_dropped(cur: Cursor, what: str, count: int, size: int, now: float) -> None:
    """Add *count* items of *size* bytes in all to the ``dropped`` counter *what*."""
    cur.execute(
        "INSERT INTO dropped (what, count, bytes, last) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (what) DO UPDATE SET count = dropped.count + excluded.count,"
        " bytes = dropped.bytes + excluded.bytes, last = excluded.last",
        (what, count, size, now),
    )


def raise_windowed(cur: Cursor, ops: Sequence[AlertOp], now: float, max_open: int) -> None:
    """Raise windowed alerts: one open alert per kind, site, node and ref counts every raise
    of its window (``times``, ``raised`` the first, ``last_raised`` the last); a raise after
    the window closes that alert and opens the next. Beyond *max_open* open alerts of a kind,
    new sources count into the one of node ``*``."""
    merged: dict[tuple[str, str, str, str], tuple[AlertOp, int]] = {}
    for op in ops:
        key = (str(op.kind), op.site, op.node, op.ref)
        _, times = merged.get(key, (op, 0))
        merged[key] = (op, times + op.times)
    for (kind, claimed_site, claimed_node, ref), (op, times) in merged.items():
        window = op.window_s or 0.0
        site, node = claimed_site, claimed_node
        _close_window(cur, (kind, site, node, ref), now - window, now)
        if not _open(cur, kind, site, node, ref) and _open_count(cur, kind) >= max_open:
            site, node = "", OVERFLOW
            _close_window(cur, (kind, site, node, ref), now - window, now)
        cur.execute(
            "INSERT INTO alerts (kind, site, node, ref, raised, detail, times, last_raised)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, site, node, ref)"
            " WHERE cleared IS NULL DO UPDATE SET times = alerts.times + excluded.times,"
            " last_raised = excluded.last_raised, detail = excluded.detail",
            (kind, site, node, ref, now, op.detail, times, now),
        )


def _close_window(cur: Cursor, key: tuple[str, str, str, str], start: float, now: float) -> None:
    """Close the open alert *key* if its first raise is older than *start*."""
    cur.execute(
        "UPDATE alerts SET cleared = ? WHERE kind = ? AND site = ? AND node = ? AND ref = ?"
        " AND cleared IS NULL AND raised < ?",
        (now, *key, start),
    )


def _open(cur: Cursor, kind: str, site: str, node: str, ref: str) -> bool:
    return (
        cur.execute(
            "SELECT 1 FROM alerts WHERE kind = ? AND site = ? AND node = ? AND ref = ?"
            " AND cleared IS NULL",
            (kind, site, node, ref),
        ).fetchone()
        is not None
    )


def _open_count(cur: Cursor, kind: str) -> int:
    row = cur.execute(
        "SELECT COUNT(*) FROM alerts WHERE kind = ? AND cleared IS NULL", (kind,)
    ).fetchone()
    return int(row[0]) if row else 0
