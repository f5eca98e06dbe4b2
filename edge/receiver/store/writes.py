"""One batch of verdicts committed in one transaction: the receiver acknowledges the batch
to the broker only after this returns, so what the broker forgets is always stored."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.receiver.alerts import AlertKind, AlertOp, on_health, on_status
from edge.receiver.files import FileStore
from edge.receiver.messages import Accepted, Part, Reason, Rejected, Verdict
from edge.receiver.store.database import Cursor

Key = tuple[str, str, str]

ROWS_PER_STATEMENT = 500
"""Rows in one multi-row INSERT (SQLite allows 32766 parameters per statement)."""


@dataclass
class Committed:
    """What one commit did."""

    stored: int = 0
    duplicates: int = 0
    quarantined: list[Rejected] = field(default_factory=list)
    clips: set[Key] = field(default_factory=set)
    """(site, node, clip_id) of clips that got a manifest or a chunk."""
    events: list[Accepted] = field(default_factory=list)


def commit(
    cur: Cursor, batch: Sequence[Verdict], files: FileStore, *, queue_limit: int
) -> Committed:
    """Store *batch* through *cur* (inside a transaction)."""
    now = time.time()
    out = Committed()
    fresh, rejected = _split_new(cur, batch, now)
    for r in rejected:
        _quarantine(cur, r, now)
        out.quarantined.append(r)
    out.duplicates = len(batch) - len(fresh) - len(rejected)
    ops: list[AlertOp] = [
        AlertOp(
            True, AlertKind.FORGED_MESSAGE, "", r.node, r.sha256[:16], f"{r.reason}: {r.detail}"
        )
        for r in rejected
    ]
    events = [a for a in fresh if a.part is Part.EVENT]
    for part in range(0, len(events), ROWS_PER_STATEMENT):
        source, params = cur.rows(
            ("text",) * 12 + ("real", "text"),
            [(a.site, a.node, a.id, *(_text(a.data.get(k)) for k in _EVENT_FIELDS), now,
              a.payload.decode()) for a in events[part : part + ROWS_PER_STATEMENT]],
        )  # fmt: skip
        sql = f"INSERT INTO events ({_EVENT_INSERT}) {source} ON CONFLICT DO NOTHING"
        cur.execute(sql, params)
    out.events = events
    seen_nodes = {(a.site, a.node) for a in fresh if a.part is not Part.STATUS}
    pairs = sorted(seen_nodes)
    for part in range(0, len(pairs), ROWS_PER_STATEMENT):
        source, params = cur.rows(("text", "text"), pairs[part : part + ROWS_PER_STATEMENT])
        sql = f"UPDATE nodes SET last_seen = ? WHERE (site, node) IN ({source})"  # noqa: S608
        cur.execute(sql, [now, *params])
    for a in fresh:
        ops.extend(_apply(cur, a, now=now, files=files, queue_limit=queue_limit, out=out))
    apply_alerts(cur, ops, now)
    out.stored = len(fresh)
    return out


_EVENT_INSERT = ("site, node, id, kind, severity, state, camera, sensor, incident, clip_id,"
                 " snapshot_id, time, received, payload")  # fmt: skip
_EVENT_FIELDS = ("kind", "severity", "state", "camera", "sensor", "incident", "clip_id",
                 "snapshot_id", "time")  # fmt: skip


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _split_new(
    cur: Cursor, batch: Sequence[Verdict], now: float
) -> tuple[list[Accepted], list[Rejected]]:
    """Accepted messages never stored before, and the rejected ones (replays included).
    An id already stored with the same content is a duplicate: dropped silently."""
    rejected = [v for v in batch if isinstance(v, Rejected)]
    fresh: list[Accepted] = []
    firsts: dict[Key, Accepted] = {}
    for v in batch:
        if not isinstance(v, Accepted):
            continue
        if v.part is Part.STATUS:
            fresh.append(v)
            continue
        key = (v.site, v.node, v.id)
        first = firsts.setdefault(key, v)
        if first is not v and first.sha256 != v.sha256:
            rejected.append(_replay(v, first.sha256))
    candidates = list(firsts.values())
    inserted: set[Key] = set()
    for part in range(0, len(candidates), ROWS_PER_STATEMENT):
        source, params = cur.rows(
            ("text",) * 5 + ("real",),
            [(a.site, a.node, a.id, a.sha256, str(a.part), now)
             for a in candidates[part : part + ROWS_PER_STATEMENT]],
        )  # fmt: skip
        sql = f"INSERT INTO seen {source} ON CONFLICT DO NOTHING RETURNING site, node, id"
        cur.execute(sql, params)
        inserted.update((str(s), str(n), str(i)) for s, n, i in cur.fetchall())
    for a in candidates:
        if (a.site, a.node, a.id) in inserted:
            fresh.append(a)
            continue
        row = cur.execute(
            "SELECT sha256 FROM seen WHERE site = ? AND node = ? AND id = ?",
            (a.site, a.node, a.id),
        ).fetchone()
        if row is not None and row[0] != a.sha256:
            rejected.append(_replay(a, str(row[0])))
    return fresh, rejected


def _replay(a: Accepted, stored: str) -> Rejected:
    return Rejected(
        Reason.REPLAY,
        f"id {a.id} already stored with sha256 {stored[:16]}..., this one {a.sha256[:16]}...",
        a.topic,
        a.payload,
        a.sha256,
        a.node,
        a.id,
    )


def _quarantine(cur: Cursor, r: Rejected, now: float) -> None:
    cur.execute(
        "INSERT INTO quarantine (received, topic, node, id, reason, detail, sha256, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now, r.topic, r.node, r.id, str(r.reason), r.detail, r.sha256, r.payload),
    )


def _apply(
    cur: Cursor, a: Accepted, *, now: float, files: FileStore, queue_limit: int, out: Committed
) -> list[AlertOp]:
    """Store one new message that is not an event; the alert operations it causes."""
    if a.part is Part.HEALTH:
        head = a.data.get("audit_head")
        cur.execute(
            "UPDATE nodes SET last_health = ?, health_status = ?, online = 1 "
            "WHERE site = ? AND node = ?",
            (a.payload.decode(), _text(a.data.get("status")), a.site, a.node),
        )
        if isinstance(head, str):
            cur.execute(
                "INSERT INTO audit_heads (site, node, head, time) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (a.site, a.node, head, now),
            )
        return on_health(a.site, a.node, a.data, queue_limit)
    if a.part is Part.STATUS:
        state = str(a.data["state"])
        cur.execute(
            "UPDATE nodes SET online = ?, status_time = ? WHERE site = ? AND node = ?",
            (int(state == "online"), now, a.site, a.node),
        )
        return on_status(a.site, a.node, state)
    if a.part is Part.SNAPSHOT:
        path = files.put(a.payload, a.sha256, ".jpg")
        cur.execute(
            "INSERT INTO snapshots (site, node, id, sha256, path, received)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a.site, a.node, a.ref, a.sha256, str(path), now),
        )
        return []
    if a.part is Part.MANIFEST:
        m = a.data["manifest"]
        cur.execute(
            "INSERT INTO clips (site, node, clip_id, camera, envelope, size, sha256, chunks,"
            " state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
            " ON CONFLICT (site, node, clip_id) DO UPDATE SET camera = excluded.camera,"
            " envelope = excluded.envelope, size = excluded.size, sha256 = excluded.sha256,"
            " chunks = excluded.chunks, updated = excluded.updated",
            (a.site, a.node, a.ref, _text(m.get("camera")), json.dumps(a.data), m["size"],
             m["sha256"], a.data["transfer"]["chunks"], now),
        )  # fmt: skip
        out.clips.add((a.site, a.node, a.ref))
        return []
    if a.part is Part.CHUNK:
        cur.execute(
            "INSERT INTO chunks (site, node, clip_id, n, data) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (a.site, a.node, a.ref, a.n, a.payload),
        )
        cur.execute(
            "INSERT INTO clips (site, node, clip_id, state, updated)"
            " VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (site, node, clip_id) DO UPDATE SET"
            " updated = excluded.updated, state = CASE WHEN clips.state = 'incomplete'"
            " THEN 'pending' ELSE clips.state END",
            (a.site, a.node, a.ref, now),
        )
        out.clips.add((a.site, a.node, a.ref))
    return []


def apply_alerts(cur: Cursor, ops: Sequence[AlertOp], now: float) -> None:
    """Raise (at most one open per kind, node and ref) or clear alerts."""
    for op in ops:
        if op.raise_:
            cur.execute(
                "INSERT INTO alerts (kind, site, node, ref, raised, detail)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (str(op.kind), op.site, op.node, op.ref, now, op.detail),
            )
        else:
            cur.execute(
                "UPDATE alerts SET cleared = ? WHERE kind = ? AND site = ? AND node = ?"
                " AND ref = ? AND cleared IS NULL",
                (now, str(op.kind), op.site, op.node, op.ref),
            )
