"""Clips give way to events on a filling disk: before a clip is written, the oldest clips go
until `keep_free_bytes` stays free; when even that cannot make room, the clip is refused
(QuotaError), never the disk filled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from faults import fill, small_disk

from edge.clips.store import ClipStore, QuotaError

pytestmark = pytest.mark.faults


def _clip(store: ClipStore, name: str, size: int) -> None:
    store.reserve(size)
    path = store.path_for(name)
    path.write_bytes(b"\0" * size)
    store.add(name, "clip", "hall", path)


def test_oldest_clips_go_to_keep_space_free(tmp_path: Path) -> None:
    """On an 8 MiB disk keeping 3 MiB free, writing 1 MiB clips evicts the oldest so that
    the free space never drops under what is kept for events."""
    with small_disk(tmp_path / "disk", "8m") as disk:
        store = ClipStore(disk / "clips", 100 * 2**20, 86400, keep_free_bytes=3 * 2**20)
        for n in range(8):
            _clip(store, f"c{n}", 2**20)
            assert shutil.disk_usage(disk).free >= 3 * 2**20 - 64 * 1024  # index pages
        assert store.evicted >= 2
        assert store.get("c7") is not None and store.get("c0") is None
        store.close()


def test_a_clip_that_cannot_fit_is_refused(tmp_path: Path) -> None:
    """With the disk filled by something else, a clip is refused with a message naming the
    free space; nothing is written."""
    with small_disk(tmp_path / "disk", "4m") as disk:
        store = ClipStore(disk / "clips", 100 * 2**20, 86400, keep_free_bytes=2**20)
        fill(disk)
        with pytest.raises(QuotaError, match="disk nearly full"):
            store.reserve(2**20)
        store.close()
