"""The ``clips`` and ``chunks`` tables as clip assembly (:mod:`edge.receiver.clips`) and
evidence upkeep (:mod:`edge.receiver.upkeep`) use them: a clip's manifest facts, its
chunks in order, its state (pending, incomplete, complete, corrupt), and the chunks that
wait for a clip. A clip is named by its key (site, node, clip id)."""

from __future__ import annotations

from typing import Any

from edge.receiver.store.database import Cursor, Database

ClipKey = tuple[str, str, str]
"""(site, node, clip id)."""


def assembly_facts(cur: Cursor, key: ClipKey) -> tuple[Any, Any, Any, Any, Any] | None:
    """(envelope, size, sha256, chunks, state) of the clip *key* (None: no such clip)."""
    row = cur.execute(
        "SELECT envelope, size, sha256, chunks, state FROM clips"
        " WHERE site = ? AND node = ? AND clip_id = ?",
        key,
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def chunks_stored(cur: Cursor, key: ClipKey, chunks: int) -> int:
    """How many of the clip's chunks 0 .. *chunks* - 1 are stored."""
    have = cur.execute(
        "SELECT COUNT(*) FROM chunks WHERE site = ? AND node = ? AND clip_id = ? AND n < ?",
        (*key, chunks),
    ).fetchone()
    return 0 if have is None else int(have[0])


def chunk_data(cur: Cursor, key: ClipKey, first: int, end: int) -> list[bytes]:
    """The bytes of the clip's chunks *first* .. *end* - 1, in order."""
    rows = cur.execute(
        "SELECT data FROM chunks WHERE site = ? AND node = ? AND clip_id = ?"
        " AND n >= ? AND n < ? ORDER BY n",
        (*key, first, end),
    ).fetchall()
    return [bytes(data) for (data,) in rows]


def drop_chunks(cur: Cursor, key: ClipKey) -> None:
    """Delete every stored chunk of the clip."""
    cur.execute("DELETE FROM chunks WHERE site = ? AND node = ? AND clip_id = ?", key)


def mark_corrupt(cur: Cursor, key: ClipKey, detail: str, now: float) -> None:
    """The assembled clip is not what its signed manifest says."""
    cur.execute(
        "UPDATE clips SET state = 'corrupt', detail = ?, updated = ?"
        " WHERE site = ? AND node = ? AND clip_id = ?",
        (detail, now, *key),
    )


def mark_complete(cur: Cursor, key: ClipKey, path: str, now: float) -> None:
    """The clip is stored whole at *path*."""
    cur.execute(
        "UPDATE clips SET state = 'complete', path = ?, updated = ?, detail = NULL"
        " WHERE site = ? AND node = ? AND clip_id = ?",
        (path, now, *key),
    )


def expire_pending(cur: Cursor, before: float) -> list[ClipKey]:
    """Mark pending clips with no progress since *before* incomplete; their keys."""
    rows = cur.execute(
        "UPDATE clips SET state = 'incomplete' WHERE state = 'pending' AND updated < ?"
        " RETURNING site, node, clip_id",
        (before,),
    ).fetchall()
    return [(str(s), str(n), str(c)) for s, n, c in rows]


def assemblable(db: Database) -> list[ClipKey]:
    """Clips not assembled yet although their manifest and every chunk are stored, least
    recently updated first."""
    rows = db.query(
        "SELECT c.site, c.node, c.clip_id FROM clips c WHERE c.state IN ('pending',"
        " 'incomplete') AND c.envelope IS NOT NULL AND c.chunks <= (SELECT COUNT(*)"
        " FROM chunks k WHERE k.site = c.site AND k.node = c.node AND k.clip_id = c.clip_id"
        " AND k.n < c.chunks) ORDER BY c.updated"
    )
    return [(str(s), str(n), str(c)) for s, n, c in rows]


def waiting(cur: Cursor) -> list[tuple[ClipKey, int, int, float, bool]]:
    """(key, chunks, bytes, last update, has a manifest) of every clip with chunks in the
    store (length() reads no blob content)."""
    rows = cur.execute(
        "SELECT k.site, k.node, k.clip_id, COUNT(*), SUM(length(k.data)), MAX(c.updated),"
        " MAX(CASE WHEN c.envelope IS NULL THEN 0 ELSE 1 END) FROM chunks k LEFT JOIN clips c"
        " ON c.site = k.site AND c.node = k.node AND c.clip_id = k.clip_id"
        " GROUP BY k.site, k.node, k.clip_id"
    ).fetchall()
    return [((str(s), str(n), str(c)), int(count), int(size or 0), float(updated or 0),
             bool(manifest))
            for s, n, c, count, size, updated, manifest in rows]  # fmt: skip


def mark_incomplete(cur: Cursor, key: ClipKey, detail: str) -> bool:
    """A pending or incomplete clip is incomplete with *detail*; False if it was neither."""
    cur.execute(
        "UPDATE clips SET state = 'incomplete', detail = ? WHERE site = ? AND node = ?"
        " AND clip_id = ? AND state IN ('pending', 'incomplete')",
        (detail, *key),
    )
    return bool(cur.rowcount)


def forget_unsigned(cur: Cursor, key: ClipKey) -> None:
    """Delete the clip's row if no manifest came for it."""
    cur.execute(
        "DELETE FROM clips WHERE site = ? AND node = ? AND clip_id = ? AND envelope IS NULL",
        key,
    )
