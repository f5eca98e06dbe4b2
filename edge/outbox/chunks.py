"""A stored clip as outbox messages: its signed manifest first, then its chunks, which the
transport reads from the clip file when it sends them (the clip is on disk once)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

from edge.core.jsonshape import JsonObject, as_int, as_object
from edge.outbox.message import OutboxMessage, Priority
from edge.wire import topics
from edge.wire.ids import MessageId


def manifest_of(signed: Mapping[str, object]) -> JsonObject:
    """The manifest of a signed clip manifest (``KeyError`` without one, ``ValueError`` when
    it is not a JSON object)."""
    return as_object(signed["manifest"], "signed manifest")


def clip_messages(signed: Mapping[str, object], path: Path, chunk_size: int) -> list[OutboxMessage]:
    """Manifest (with the transfer plan beside the signature) and chunk messages of a clip.

    Ids are ``CLIP_ID/manifest`` and ``CLIP_ID/NNNNN``: stable, and in sending order within
    the clip class, so an upload resumes at the first chunk not yet acknowledged.
    """
    m = manifest_of(signed)
    clip_id = str(m["clip_id"])
    size = as_int(m["size"], "manifest size")
    count = max(1, math.ceil(size / chunk_size))
    now = time.time()
    envelope = {**signed, "transfer": {"chunk_size": chunk_size, "chunks": count}}
    out = [
        OutboxMessage(
            id=str(MessageId.manifest(clip_id)),
            priority=Priority.CLIP,
            kind="clip",
            topic=topics.clip_manifest(clip_id),
            payload=json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode(),
            created=now,
            properties=(("clip", clip_id), ("chunks", str(count))),
        )
    ]
    with path.open("rb") as f:
        for n in range(count):
            data = f.read(chunk_size)
            out.append(
                OutboxMessage(
                    id=str(MessageId.chunk_of(clip_id, n)),
                    priority=Priority.CLIP,
                    kind="clip",
                    topic=topics.clip_chunk(clip_id, n),
                    payload=b"",
                    created=now,
                    file=str(path),
                    offset=n * chunk_size,
                    length=len(data),
                    properties=(
                        ("clip", clip_id),
                        ("n", str(n)),
                        ("chunks", str(count)),
                        ("sha256", hashlib.sha256(data).hexdigest()),
                    ),
                )
            )
    return out
