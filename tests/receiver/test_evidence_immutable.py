"""Evidence is immutable: a clip's first signed manifest stays (a second one with other
content is quarantined as ``conflict`` and alerted, the same one again is a duplicate), a
finished clip takes no more chunks, and chunks that never make a clip are capped per node
and expire, each drop logged and counted. On both store engines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounded import commit, dropped, engine_store, open_alerts, verdicts
from rx import count, enrol
from structlog.testing import capture_logs

from edge.bench.fleet import SimNode, Wire
from edge.receiver.bounds import Bounds
from edge.receiver.clips import expire
from edge.receiver.messages import Accepted
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.upkeep import drop_orphans

NODE = SimNode("kudus", "gudang-03")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine with NODE enrolled."""
    with engine_store(tmp_path, request) as s:
        enrol(s, NODE)
        yield s


def _file(tmp_path: Path, name: str, size: int, seed: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes((hashlib.sha256(seed).digest() * (size // 32 + 1))[:size])
    return path


def _resigned(wire: Wire, msg_id: str) -> Wire:
    """*wire* (a message of NODE) signed again under another message id."""
    topic, payload, props = wire
    extra = tuple(p for p in props if p[0] not in ("id", "kid", "sig"))
    return NODE._wire(topic, msg_id, payload, *extra)


def _clip_row(store: ReceiverStore, clip_id: str) -> tuple[object, ...]:
    return store.db.query(
        "SELECT state, size, sha256, chunks, path FROM clips WHERE clip_id = ?", (clip_id,)
    )[0]


def test_a_second_manifest_with_other_content_is_quarantined_and_the_clip_stays(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """A completed clip, then a manifest for the same clip id signed by the same node with
    another size and sha256 under another message id: quarantined as conflict with a
    clip_conflict alert; the clip's size, sha256, state and file are unchanged. The first
    manifest again under another id is a harmless duplicate (nothing quarantined); so is
    a manifest for a clip that has one but is not complete yet, when it agrees."""
    a = _file(tmp_path, "a.mp4", 5000, b"a")
    wires = NODE.clip(a, chunk_size=1000)
    clip_id = wires[0][0].split("/")[1]
    commit(store, verdicts(store, NODE, wires))
    before = _clip_row(store, clip_id)
    assert before[:3] == ("complete", 5000, hashlib.sha256(a.read_bytes()).hexdigest())
    other = NODE.clip(_file(tmp_path, "b.mp4", 7000, b"b"), chunk_size=1000, clip_id=clip_id)
    conflict = verdicts(store, NODE, [_resigned(other[0], f"{clip_id}/manifest-2")])
    assert isinstance(conflict[0], Accepted)  # validly signed: only the store can tell
    done = store.commit(conflict)
    assert (done.stored, len(done.quarantined)) == (0, 1)
    assert _clip_row(store, clip_id) == before
    assert Path(str(before[4])).read_bytes() == a.read_bytes()
    q = reads.quarantine(store.db)
    assert [(r["reason"], r["id"]) for r in q] == [("conflict", f"{clip_id}/manifest-2")]
    assert "7000 bytes" in str(q[0]["detail"]) and "5000 bytes" in str(q[0]["detail"])
    alerts = open_alerts(store, "clip_conflict")
    assert [(x["node"], x["ref"]) for x in alerts] == [(NODE.node, clip_id)]
    assert open_alerts(store, "forged_message") == []
    done = store.commit(verdicts(store, NODE, [_resigned(wires[0], f"{clip_id}/manifest-3")]))
    assert (done.stored, done.duplicates, done.quarantined) == (0, 1, [])
    assert count(store, "quarantine") == 1 and _clip_row(store, clip_id) == before
    # the chunks of the other content, under new ids: the finished clip takes none
    late = [_resigned(w, f"{clip_id}/late-{i}") for i, w in enumerate(other[1:])]
    commit(store, verdicts(store, NODE, late))
    assert count(store, "chunks") == 0 and _clip_row(store, clip_id) == before
    # a clip with a manifest, not complete yet: an agreeing manifest changes nothing
    c = NODE.clip(_file(tmp_path, "c.mp4", 3000, b"c"), chunk_size=1000)
    c_id = c[0][0].split("/")[1]
    commit(store, verdicts(store, NODE, c[:2]))
    commit(store, verdicts(store, NODE, [_resigned(c[0], f"{c_id}/manifest-again")]))
    assert count(store, "quarantine") == 1
    commit(store, verdicts(store, NODE, c[2:]))
    assert _clip_row(store, c_id)[0] == "complete"


def test_a_conflicting_manifest_for_a_pending_clip_is_quarantined_too(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """Manifest and half the chunks stored, then another manifest for that clip with other
    content: quarantined; the rest of the first upload completes the clip as first
    signed."""
    a = _file(tmp_path, "a.mp4", 4000, b"a")
    wires = NODE.clip(a, chunk_size=1000)
    clip_id = wires[0][0].split("/")[1]
    commit(store, verdicts(store, NODE, wires[:3]))
    other = NODE.clip(_file(tmp_path, "b.mp4", 4000, b"b"), chunk_size=1000, clip_id=clip_id)
    commit(store, verdicts(store, NODE, [_resigned(other[0], f"{clip_id}/manifest-b")]))
    assert [r["reason"] for r in reads.quarantine(store.db)] == ["conflict"]
    commit(store, verdicts(store, NODE, wires[3:]))
    state, size, sha, _, path = _clip_row(store, clip_id)
    assert (state, size, sha) == ("complete", 4000, hashlib.sha256(a.read_bytes()).hexdigest())
    assert Path(str(path)).read_bytes() == a.read_bytes()


def test_orphan_chunks_expire_with_a_log_line_and_a_count(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """Chunks without a manifest, and a clip with its manifest whose chunks stopped (both
    alerted incomplete): after orphan_chunks_after_s both lose their chunks (one log line
    each, counted); the clip with a manifest stays, incomplete, the drop in its detail and
    alerted; the other is gone, its alert settled. A clip still making progress keeps its
    chunks."""
    wires = NODE.clip(_file(tmp_path, "a.mp4", 5000, b"a"), chunk_size=1000)
    a_id = wires[0][0].split("/")[1]
    commit(store, verdicts(store, NODE, wires[:3]))  # manifest and 2 of 5 chunks
    orphan = NODE.clip(_file(tmp_path, "b.mp4", 3000, b"b"), chunk_size=1000)
    b_id = orphan[0][0].split("/")[1]
    commit(store, verdicts(store, NODE, orphan[1:]))  # 3 chunks, never a manifest
    fresh = NODE.clip(_file(tmp_path, "c.mp4", 3000, b"c"), chunk_size=1000)
    commit(store, verdicts(store, NODE, fresh[1:2]))
    store.db.query("UPDATE clips SET updated = updated - 2 * 86400 WHERE clip_id IN (?, ?)"
                   " RETURNING 1", (a_id, b_id))  # fmt: skip
    assert sorted(expire(store, 900)) == sorted([(NODE.site, NODE.node, c) for c in (a_id, b_id)])
    with capture_logs() as logs:
        assert drop_orphans(store) == {"expired": 5, "evicted": 0}
    lines = [e for e in logs if e["event"] == "clip.orphans_dropped"]
    assert sorted((e["clip"], e["chunks"], e["why"]) for e in lines) == sorted(
        [(a_id, 2, "expired"), (b_id, 3, "expired")]
    )
    assert dropped(store, "orphan_chunks_expired") == 5
    assert count(store, "chunks") == 1  # the fresh clip's
    state, detail = store.db.query("SELECT state, detail FROM clips WHERE clip_id = ?",
                                   (a_id,))[0]  # fmt: skip
    assert state == "incomplete" and "2 chunks (2000 bytes) dropped" in str(detail)
    assert [x["ref"] for x in open_alerts(store, "clip_incomplete")] == [a_id]  # b's settled
    assert store.db.query("SELECT COUNT(*) FROM clips WHERE clip_id = ?", (b_id,)) == [(0,)]
    assert drop_orphans(store) == {"expired": 0, "evicted": 0}


def test_orphan_chunks_are_capped_per_node_oldest_first(
    store: ReceiverStore, tmp_path: Path
) -> None:
    """A cap of 5 waiting chunks per node and three manifest-less clips of 3 chunks: the
    two least recently updated lose theirs (counted as evicted), the newest keeps its
    chunks; another node's chunks are not touched."""
    other = SimNode("kudus", "gudang-04")
    enrol(store, other)
    store.bounds = Bounds(orphan_max_chunks=5)
    ids = []
    for i in range(3):
        wires = NODE.clip(_file(tmp_path, f"{i}.mp4", 3000, bytes([i])), chunk_size=1000)
        ids.append(wires[0][0].split("/")[1])
        commit(store, verdicts(store, NODE, wires[1:]))
        store.db.query("UPDATE clips SET updated = ? WHERE clip_id = ? RETURNING 1",
                       (1000.0 * (i + 1) + 2e9, ids[-1]))  # fmt: skip
    theirs = other.clip(_file(tmp_path, "o.mp4", 4000, b"o"), chunk_size=1000)
    commit(store, verdicts(store, other, theirs[1:]))
    store.db.query("UPDATE clips SET updated = ? WHERE node = ? RETURNING 1",
                   (2e9 + 3500, other.node))  # fmt: skip
    with capture_logs() as logs:
        got = drop_orphans(store, now=2e9 + 4000)
    assert got == {"expired": 0, "evicted": 6}
    assert dropped(store, "orphan_chunks_evicted") == 6
    left = store.db.query("SELECT node, clip_id, COUNT(*) FROM chunks GROUP BY node, clip_id"
                          " ORDER BY node")  # fmt: skip
    assert [(n, c) for n, c, _ in left] == [(NODE.node, ids[2]), (other.node, left[1][1])]
    assert sorted(e["clip"] for e in logs if e["event"] == "clip.orphans_dropped") == sorted(
        ids[:2]
    )
