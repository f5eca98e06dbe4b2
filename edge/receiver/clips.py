"""Clip reassembly: chunks arrive in any order, twice, or across a resumed upload, and are
kept in the store until the manifest and every chunk are there. Then the clip is checked
against the signed manifest (size and sha256) and written once, as a browser-playable MP4
(the node writes moov first) with the signed manifest beside it. A clip whose chunks stop
arriving is marked ``incomplete`` after a timeout (never ``complete``) and completes if they
resume."""

from __future__ import annotations

import json
import time

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.files import HashingWriter
from edge.receiver.store.database import Cursor
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import apply_alerts

log = get_logger(__name__)

ClipKey = tuple[str, str, str]

CHUNKS_PER_READ = 8
"""Chunks read from the store at a time while a clip is assembled (memory stays small)."""


def try_complete(store: ReceiverStore, key: ClipKey) -> str | None:
    """Assemble the clip *key* = (site, node, clip_id) if all of it is there; returns its
    state afterwards (``pending``, ``complete``, ``corrupt``) or None if unknown."""
    with store.db.transaction() as cur:
        row = cur.execute(
            "SELECT envelope, size, sha256, chunks, state FROM clips"
            " WHERE site = ? AND node = ? AND clip_id = ?",
            key,
        ).fetchone()
        if row is None:
            return None
        envelope, size, sha256, chunks, state = row
        if state in ("complete", "corrupt") or envelope is None:
            return str(state)
        have = cur.execute(
            "SELECT COUNT(*) FROM chunks WHERE site = ? AND node = ? AND clip_id = ? AND n < ?",
            (*key, chunks),
        ).fetchone()
        if have is None or int(have[0]) < int(chunks):
            return str(state)
        with store.files.writing() as out:
            for first in range(0, int(chunks), CHUNKS_PER_READ):
                for (data,) in cur.execute(
                    "SELECT data FROM chunks WHERE site = ? AND node = ? AND clip_id = ?"
                    " AND n >= ? AND n < ? ORDER BY n",
                    (*key, first, min(int(chunks), first + CHUNKS_PER_READ)),
                ).fetchall():
                    out.write(bytes(data))
            new_state = _settle(cur, store, key, out, (int(size), str(sha256), str(envelope)))
        cur.execute("DELETE FROM chunks WHERE site = ? AND node = ? AND clip_id = ?", key)
        return new_state


def _settle(
    cur: Cursor,
    store: ReceiverStore,
    key: ClipKey,
    out: HashingWriter,
    expected: tuple[int, str, str],
) -> str:
    """Keep the assembled clip if it is what the signed manifest says; else mark it corrupt."""
    site, node, clip_id = key
    size, sha256, envelope = expected
    now = time.time()
    if out.size != size or out.sha256 != sha256:
        detail = f"{out.size} bytes sha256 {out.sha256}; manifest: {size} bytes {sha256}"
        cur.execute(
            "UPDATE clips SET state = 'corrupt', detail = ?, updated = ?"
            " WHERE site = ? AND node = ? AND clip_id = ?",
            (detail, now, *key),
        )
        apply_alerts(cur, [AlertOp(True, AlertKind.CLIP_CORRUPT, site, node, clip_id, detail)],
                     now)  # fmt: skip
        log.error("clip.corrupt", node=node, clip=clip_id, detail=detail)
        return "corrupt"
    path = out.keep(".mp4")
    manifest = json.dumps(json.loads(envelope), indent=2, sort_keys=True).encode()
    store.files.put(manifest, sha256, ".json")
    cur.execute(
        "UPDATE clips SET state = 'complete', path = ?, updated = ?, detail = NULL"
        " WHERE site = ? AND node = ? AND clip_id = ?",
        (str(path), now, *key),
    )
    apply_alerts(cur, [AlertOp(False, AlertKind.CLIP_INCOMPLETE, site, node, clip_id)], now)
    log.info("clip.stored", node=node, clip=clip_id, bytes=out.size, path=str(path))
    return "complete"


def expire(store: ReceiverStore, incomplete_after_s: float) -> list[ClipKey]:
    """Mark clips with no progress for *incomplete_after_s* as incomplete and alert."""
    now = time.time()
    with store.db.transaction() as cur:
        rows = cur.execute(
            "UPDATE clips SET state = 'incomplete' WHERE state = 'pending' AND updated < ?"
            " RETURNING site, node, clip_id",
            (now - incomplete_after_s,),
        ).fetchall()
        keys = [(str(s), str(n), str(c)) for s, n, c in rows]
        apply_alerts(
            cur,
            [AlertOp(True, AlertKind.CLIP_INCOMPLETE, s, n, c, "chunks stopped arriving")
             for s, n, c in keys],
            now,
        )  # fmt: skip
    for s, n, c in keys:
        log.warning("clip.incomplete", site=s, node=n, clip=c)
    return keys
