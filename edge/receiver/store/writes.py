"""One batch of verdicts committed in one transaction: the receiver acknowledges the batch
to the broker only after this returns, so what the broker forgets is always stored."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.receiver.alerts import AlertKind, AlertOp, on_health
from edge.receiver.bounds import Bounds
from edge.receiver.files import FileStore
from edge.receiver.messages import Accepted, Part, Reason, Rejected, Verdict
from edge.receiver.presence import apply_status
from edge.receiver.store import hostility, occurrences
from edge.receiver.store.database import Cursor

Key = tuple[str, str, str]

DEFAULT_BOUNDS = Bounds()

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
    cur: Cursor,
    batch: Sequence[Verdict],
    files: FileStore,
    *,
    queue_limit: int,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> Committed:
    """Store *batch* through *cur* (inside a transaction)."""
    now = time.time()
    out = Committed()
    fresh, rejected = _split_new(cur, batch, now)
    hostility.quarantine(cur, rejected, bounds, now)
    out.quarantined.extend(rejected)
    out.duplicates = len(batch) - len(fresh) - len(rejected)
    ops: list[AlertOp] = hostility.forged_ops(rejected, bounds)
    events = [a for a in fresh if a.part is Part.EVENT]
    stored: list[occurrences.Ev] = []
    for part in range(0, len(events), ROWS_PER_STATEMENT):
        chunk = {(a.site, a.node, a.id): a for a in events[part : part + ROWS_PER_STATEMENT]}
        source, params = cur.rows(
            ("text",) * 13 + ("real", "text", "text", "text"),
            [(a.site, a.node, a.id, *(_text(a.data.get(k)) for k in _EVENT_FIELDS),
              _text(a.data.get("occurrence")) or a.id, now, a.payload.decode(),
              a.key_id or None, a.signature or None)
             for a in chunk.values()],
        )  # fmt: skip
        sql = (f"INSERT INTO events ({_EVENT_INSERT}) {source} ON CONFLICT DO NOTHING"
               " RETURNING seq, site, node, id")  # fmt: skip
        for seq, site, node, event_id in cur.execute(sql, params).fetchall():
            a = chunk[(str(site), str(node), str(event_id))]
            stored.append(
                occurrences.event_of(int(seq), a.site, a.node, a.id, a.data, received=now)
            )
    occurrences.apply(cur, stored, now)
    out.events = events
    seen_nodes = {(a.site, a.node) for a in fresh if a.part is not Part.STATUS}
    pairs = sorted(seen_nodes)
    for part in range(0, len(pairs), ROWS_PER_STATEMENT):
        source, params = cur.rows(("text", "text"), pairs[part : part + ROWS_PER_STATEMENT])
        sql = f"UPDATE nodes SET last_seen = ? WHERE (site, node) IN ({source})"  # noqa: S608
        cur.execute(sql, [now, *params])
    duplicates = out.duplicates
    for a in fresh:
        ops.extend(_apply(cur, a, now=now, files=files, queue_limit=queue_limit, out=out))
    conflicts = out.quarantined[len(rejected) :]
    hostility.quarantine(cur, conflicts, bounds, now)
    apply_alerts(cur, ops, now, max_open=bounds.forged_max_sources)
    out.stored = len(fresh) - len(conflicts) - (out.duplicates - duplicates)
    return out


_EVENT_INSERT = ("site, node, id, kind, severity, state, camera, sensor, incident, clip_id,"
                 " snapshot_id, time, occurrence, received, payload, key_id,"
                 " signature")  # fmt: skip
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
        return apply_status(cur, a, now)
    if a.part is Part.SNAPSHOT:
        path = files.put(a.payload, a.sha256, ".jpg")
        cur.execute(
            "INSERT INTO snapshots (site, node, id, sha256, path, received)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (a.site, a.node, a.ref, a.sha256, str(path), now),
        )
        return []
    if a.part is Part.MANIFEST:
        return _manifest(cur, a, now, out)
    if a.part is Part.CHUNK:
        cur.execute(  # a clip already assembled (or corrupt) takes no more chunks
            "INSERT INTO chunks (site, node, clip_id, n, data) SELECT ?, ?, ?, ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM clips WHERE site = ? AND node = ?"
            " AND clip_id = ? AND state IN ('complete', 'corrupt')) ON CONFLICT DO NOTHING",
            (a.site, a.node, a.ref, a.n, a.payload, a.site, a.node, a.ref),
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


def _manifest(cur: Cursor, a: Accepted, now: float, out: Committed) -> list[AlertOp]:
    """Evidence is immutable: the first signed manifest of a clip is kept; the same one
    again is a harmless duplicate, one with another size, sha256 or chunk count is
    quarantined (``conflict``) and alerted, the stored clip unchanged."""
    m = a.data["manifest"]
    claim = (int(m["size"]), str(m["sha256"]), int(a.data["transfer"]["chunks"]))
    took = cur.execute(
        "INSERT INTO clips (site, node, clip_id, camera, envelope, size, sha256, chunks,"
        " state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)"
        " ON CONFLICT (site, node, clip_id) DO UPDATE SET camera = excluded.camera,"
        " envelope = excluded.envelope, size = excluded.size, sha256 = excluded.sha256,"
        " chunks = excluded.chunks, updated = excluded.updated WHERE clips.envelope IS NULL"
        " RETURNING clip_id",
        (a.site, a.node, a.ref, _text(m.get("camera")), json.dumps(a.data), *claim, now),
    ).fetchall()
    if took:
        out.clips.add((a.site, a.node, a.ref))
        return []
    row = cur.execute(
        "SELECT size, sha256, chunks, state FROM clips WHERE site = ? AND node = ? AND clip_id = ?",
        (a.site, a.node, a.ref),
    ).fetchone()
    assert row is not None  # the upsert found it
    kept = (int(row[0]), str(row[1]), int(row[2]))
    if kept == claim:
        out.duplicates += 1
        return []
    detail = (f"clip {a.ref} ({row[3]}) has a signed manifest of {kept[0]} bytes sha256"
              f" {kept[1]} in {kept[2]} chunks; message {a.id} claims {claim[0]} bytes sha256"
              f" {claim[1]} in {claim[2]} chunks")  # fmt: skip
    out.quarantined.append(
        Rejected(Reason.CONFLICT, detail, a.topic, a.payload, a.sha256, a.node, a.id)
    )
    return [AlertOp(True, AlertKind.CLIP_CONFLICT, a.site, a.node, a.ref, detail)]


def apply_alerts(
    cur: Cursor,
    ops: Sequence[AlertOp],
    now: float,
    *,
    max_open: int = DEFAULT_BOUNDS.forged_max_sources,
) -> None:
    """Raise (at most one open per kind, node and ref; windowed ones counted, see
    :func:`hostility.raise_windowed`) or clear alerts."""
    hostility.raise_windowed(cur, [op for op in ops if op.raise_ and op.window_s], now, max_open)
    for op in ops:
        if op.raise_ and op.window_s:
            continue
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
