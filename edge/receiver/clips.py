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
from edge.receiver.store import cliprows
from edge.receiver.store.database import Cursor
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import apply_alerts

log = get_logger(__name__)

ClipKey = cliprows.ClipKey

CHUNKS_PER_READ = 8
"""Chunks read from the store at a time while a clip is assembled (memory stays small)."""


def try_complete(store: ReceiverStore, key: ClipKey) -> str | None:
    """Assemble the clip *key* = (site, node, clip_id) if all of it is there; returns its
    state afterwards (``pending``, ``complete``, ``corrupt``) or None if unknown."""
    with store.db.transaction() as cur:
        row = cliprows.assembly_facts(cur, key)
        if row is None:
            return None
        envelope, size, sha256, chunks, state = row
        if state in ("complete", "corrupt") or envelope is None:
            return str(state)
        if cliprows.chunks_stored(cur, key, int(chunks)) < int(chunks):
            return str(state)
        with store.files.writing() as out:
            for first in range(0, int(chunks), CHUNKS_PER_READ):
                end = min(int(chunks), first + CHUNKS_PER_READ)
                for data in cliprows.chunk_data(cur, key, first, end):
                    out.write(data)
            new_state = _settle(cur, store, key, out, (int(size), str(sha256), str(envelope)))
        cliprows.drop_chunks(cur, key)
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
        cliprows.mark_corrupt(cur, key, detail, now)
        apply_alerts(cur, [AlertOp(True, AlertKind.CLIP_CORRUPT, site, node, clip_id, detail)],
                     now)  # fmt: skip
        log.error("clip.corrupt", node=node, clip=clip_id, detail=detail)
        return "corrupt"
    path = out.keep(".mp4")
    manifest = json.dumps(json.loads(envelope), indent=2, sort_keys=True).encode()
    store.files.put(manifest, sha256, ".json")
    cliprows.mark_complete(cur, key, str(path), now)
    apply_alerts(cur, [AlertOp(False, AlertKind.CLIP_INCOMPLETE, site, node, clip_id)], now)
    log.info("clip.stored", node=node, clip=clip_id, bytes=out.size, path=str(path))
    return "complete"


def expire(store: ReceiverStore, incomplete_after_s: float) -> list[ClipKey]:
    """Mark clips with no progress for *incomplete_after_s* as incomplete and alert."""
    now = time.time()
    with store.db.transaction() as cur:
        keys = cliprows.expire_pending(cur, now - incomplete_after_s)
        apply_alerts(
            cur,
            [AlertOp(True, AlertKind.CLIP_INCOMPLETE, s, n, c, "chunks stopped arriving")
             for s, n, c in keys],
            now,
        )  # fmt: skip
    for s, n, c in keys:
        log.warning("clip.incomplete", site=s, node=n, clip=c)
    return keys
