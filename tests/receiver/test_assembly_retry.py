"""A clip whose assembly failed on a full disk is assembled once space returns: a running
receiver with its files on a real small tmpfs (its database elsewhere), filled to the last
byte while a clip arrives; the supervision loop retries and the clip completes, byte for
byte, after the filler is removed. On both store engines."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from faults import fill, small_disk
from rx import count, enrol, publisher, receiver_config
from structlog.testing import capture_logs
from timing import wait_until

from edge.bench.fleet import SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.service import Receiver
from edge.receiver.store.store import ReceiverStore

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_assembly_that_failed_on_a_full_disk_is_retried_when_space_returns(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, engine: str, request: pytest.FixtureRequest
) -> None:
    """All of a clip stored while the clip disk is full: assembly fails (ENOSPC, logged),
    the clip stays pending with its chunks; once the filler is gone the supervision loop
    assembles it (within a few check intervals) to the signed sha256."""
    prefix = f"retry-{engine}"
    url = (f"sqlite:///{tmp_path / 'db' / 'receiver.db'}" if engine == "sqlite"
           else str(request.getfixturevalue("pg_url")))  # fmt: skip
    node = SimNode("magelang", "gudang-05")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(hashlib.sha256(b"clip").digest() * 8000)  # 256 KB
    with small_disk(tmp_path / "disk", "2m") as disk:
        cfg = receiver_config(disk / "rx", broker, ca, name=f"retry{engine}", prefix=prefix)
        r = Receiver(cfg, ReceiverStore(url, cfg.data_dir))
        enrol(r.store, node)
        r.start()
        pub = publisher(broker, ca, prefix)
        try:
            assert r.ingest.subscribed.wait(10)
            filler = fill(disk)
            with capture_logs() as logs:
                for w in node.clip(clip, chunk_size=32_000):
                    pub.publish(node, w)
                assert pub.wait_acked(30)

                def failed() -> list[Any]:
                    return [e for e in logs if e["event"] == "clip.assembly_failed"]

                assert wait_until(failed, 20), [e["event"] for e in logs]
                assert "No space left" in str(failed()[0]["error"])
                s = r.store
                assert s.db.query("SELECT state FROM clips") == [("pending",)]
                assert count(s, "chunks") == 8
                filler.unlink()
                assert wait_until(lambda: s.db.query("SELECT state FROM clips") == [
                    ("complete",)], 15)  # fmt: skip
            path, sha = s.db.query("SELECT path, sha256 FROM clips")[0]
            assert Path(path).read_bytes() == clip.read_bytes()
            assert sha == hashlib.sha256(clip.read_bytes()).hexdigest()
            assert count(s, "chunks") == 0
            assert any(e["event"] == "clip.assembly_retried" for e in logs)
        finally:
            pub.close()
            r.stop()
