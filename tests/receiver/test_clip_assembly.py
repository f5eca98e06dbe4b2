"""Clip reassembly in the store: any order, more chunks than one read holds, and a clip
that does not match its signed manifest is corrupt, never complete."""

from __future__ import annotations

import random
from pathlib import Path

from edge.bench.fleet import SimNode, Wire
from edge.receiver.clips import CHUNKS_PER_READ, try_complete
from edge.receiver.messages import Verdict
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Identity, Registry


def _verdicts(store: ReceiverStore, node: SimNode, wires: list[Wire]) -> list[Verdict]:
    check = Checker(Registry([Identity(node.node, node.site, node.key.pem)]), "warehouse",
                    max_clip_bytes=1 << 24)  # fmt: skip
    return [
        check.check(f"warehouse/{node.site}/{node.node}/{t}", p, dict(props))
        for t, p, props in wires
    ]


def test_chunks_in_any_order_make_the_signed_clip(tmp_path: Path) -> None:
    """A clip of 3 reads' worth of chunks, shuffled, in several batches: complete, its bytes
    equal the original, the chunks are gone from the store."""
    store = ReceiverStore(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    node = SimNode("kudus", "gudang-03")
    store.enrol(node.site, node.node, node.key.pem)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(random.Random(1).randbytes(1000 * (3 * CHUNKS_PER_READ + 1)))
    wires = node.clip(clip, chunk_size=1000)
    verdicts = _verdicts(store, node, wires)
    random.Random(2).shuffle(verdicts)
    for i in range(0, len(verdicts), 5):
        done = store.commit(verdicts[i : i + 5])
        for key in done.clips:
            try_complete(store, key)
    row = store.db.query("SELECT state, path FROM clips")[0]
    assert row[0] == "complete"
    assert Path(row[1]).read_bytes() == clip.read_bytes()
    assert store.db.query("SELECT COUNT(*) FROM chunks") == [(0,)]


def test_a_clip_unlike_its_manifest_is_corrupt_and_alerted(tmp_path: Path) -> None:
    """The node's manifest of one file with the (signed) chunks of another of the same size:
    corrupt, clip_corrupt raised, no file kept under the manifest's name."""
    store = ReceiverStore(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    node = SimNode("kudus", "gudang-03")
    store.enrol(node.site, node.node, node.key.pem)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"a" * 5000)
    b.write_bytes(b"b" * 5000)
    manifest = node.clip(a, chunk_size=1000)[0]
    clip_id = manifest[0].split("/")[1]
    other = node.clip(b, chunk_size=1000)[1:]
    chunks = [(f"clips/{clip_id}/{t.split('/')[2]}", p, props) for t, p, props in other]
    signed = [node._wire(t, f"{clip_id}/{t.split('/')[2]:0>5}", p) for t, p, _ in chunks]
    done = store.commit(_verdicts(store, node, [manifest, *signed]))
    assert try_complete(store, next(iter(done.clips))) == "corrupt"
    assert [x["kind"] for x in reads.alerts(store.db)] == ["clip_corrupt"]
    assert not list((tmp_path / "objects").rglob("*.mp4"))
