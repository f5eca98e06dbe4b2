"""Clip reassembly: chunks arrive in any order, twice, or across a resumed upload, and are
kept in the store until the manifest and every chunk are there. Then the clip is checked
against the signed manifest (size and sha256) and written once, as a browser-playable MP4
(the node writes moov first) with the signed manifest beside it. A clip whose chunks stop
arriving is marked ``incomplete`` after a timeout (never ``complete``) and completes if they
resume."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import apply_alerts

log = get_logger(__name__)

ClipKey = tuple[str, str, str]


def try_complete(store: ReceiverStore, key: ClipKey) -> str | None:
    """Assemble the clip *key* = (site, node, clip_id) if all of it is there; returns its
    state afterwards (``pending``, ``complete``, ``corrupt``) or None if unknown."""
    site, node, clip_id = key
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
        rows = cur.execute(
            "SELECT data FROM chunks WHERE site = ? AND node = ? AND clip_id = ? AND n < ?"
            " ORDER BY n",
            (*key, chunks),
        ).fetchall()
        data = b"".join(bytes(r[0]) for r in rows)
        digest = hashlib.sha256(data).hexdigest()
        now = time.time()
        if len(data) != int(size) or digest != sha256:
            detail = f"{len(data)} bytes sha256 {digest}; manifest: {size} bytes {sha256}"
            cur.execute(
                "UPDATE clips SET state = 'corrupt', detail = ?, updated = ?"
                " WHERE site = ? AND node = ? AND clip_id = ?",
                (detail, now, *key),
            )
            apply_alerts(cur, [AlertOp(True, AlertKind.CLIP_CORRUPT, site, node, clip_id,
                                        detail)], now)  # fmt: skip
            log.error("clip.corrupt", node=node, clip=clip_id, detail=detail)
            new_state = "corrupt"
        else:
            path = store.files.put(data, digest, ".mp4")
            manifest = json.dumps(json.loads(envelope), indent=2, sort_keys=True).encode()
            store.files.put(manifest, digest, ".json")
            cur.execute(
                "UPDATE clips SET state = 'complete', path = ?, updated = ?, detail = NULL"
                " WHERE site = ? AND node = ? AND clip_id = ?",
                (str(path), now, *key),
            )
            apply_alerts(cur, [AlertOp(False, AlertKind.CLIP_INCOMPLETE, site, node, clip_id)],
                         now)  # fmt: skip
            log.info("clip.stored", node=node, clip=clip_id, bytes=len(data), path=str(path))
            new_state = "complete"
        cur.execute("DELETE FROM chunks WHERE site = ? AND node = ? AND clip_id = ?", key)
        return new_state


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


def clip_file(store: ReceiverStore, key: ClipKey) -> Path | None:
    """The stored MP4 of a complete clip."""
    rows = store.db.query(
        "SELECT path FROM clips WHERE site = ? AND node = ? AND clip_id = ? AND state = 'complete'",
        key,
    )
    return Path(rows[0][0]) if rows else None
