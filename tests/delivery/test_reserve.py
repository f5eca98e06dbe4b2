"""The reserve for alarms, on real small disks (tmpfs): sized to its file system (2%, at
least 256 KiB, at most ``outbox.reserve_bytes``), made on a small disk where a fixed 8 MiB
never was, its absence a start warning and a state reason, and given up a step at a time so
that alarm after alarm finds room on a full disk."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from faults import fill, small_disk

from edge.core.errors import OutboxError
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.reserve import FLOOR, fitted
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults

MIB = 1024 * 1024
DEFAULT_CAP = 8 * MIB


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """The structured log events emitted during the test."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def _message(n: int, prio: Priority) -> OutboxMessage:
    kind = "smoke" if prio is Priority.ALARM else "door_open"
    return OutboxMessage(f"m-{n}", prio, kind, "events", b"{}", time.time())


def test_size_fits_the_file_system() -> None:
    """2% of the file system, never under the floor, never over the cap; cap 0: none."""
    assert fitted(16 * MIB, DEFAULT_CAP) == int(16 * MIB * 0.02)
    assert fitted(4 * MIB, DEFAULT_CAP) == FLOOR
    assert fitted(32 * 1024 * MIB, DEFAULT_CAP) == DEFAULT_CAP
    assert fitted(16 * MIB, 128 * 1024) == 128 * 1024  # a cap under the floor wins
    assert fitted(16 * MIB, 0) == 0


def test_a_small_disk_gets_a_reserve_that_fits(tmp_path: Path) -> None:
    """On a 16 MiB disk the default cap of 8 MiB (which needed 16 MiB free and so was never
    made) gives way to 2% of the disk: held, and reported held."""
    with small_disk(tmp_path / "disk", "16m") as disk:
        box = Outbox(disk / "outbox.sqlite", reserve_bytes=DEFAULT_CAP)
        assert box.reserve.size == int(16 * MIB * 0.02) and box.reserve.held
        assert not box.reserve.missing
        box.close()


def test_a_missing_reserve_is_a_start_warning_and_is_made_once_there_is_room(
    tmp_path: Path, log_events: list[MutableMapping[str, Any]]
) -> None:
    """A disk too full for the reserve at start: one warning naming the size and why, the
    reserve is missing (the node's reason ``reserve_missing``); once room returns the next
    hold makes it and says so."""
    with small_disk(tmp_path / "disk", "4m") as disk:
        filler = fill(disk)
        os.truncate(filler, filler.stat().st_size - 300 * 1024)  # room for the outbox only
        box = Outbox(disk / "outbox.sqlite", reserve_bytes=DEFAULT_CAP)
        assert box.reserve.missing
        warned = [e for e in log_events if e["event"] == "outbox.reserve_missing"]
        assert len(warned) == 1 and warned[0]["log_level"] == "warning"
        assert warned[0]["bytes"] == FLOOR and "free" in warned[0]["reason"]
        box.reserve.hold()  # housekeeping, still no room: not logged again
        assert len([e for e in log_events if e["event"] == "outbox.reserve_missing"]) == 1
        filler.unlink()
        assert box.reserve.hold() and not box.reserve.missing
        assert any(e["event"] == "outbox.reserve_held" for e in log_events)
        box.close()


def test_alarm_after_alarm_finds_room_on_a_full_disk(tmp_path: Path) -> None:
    """The disk filled to the last byte after the reserve was made: an event cannot be
    stored, but 20 alarms in a row are, taking the reserve a step at a time (some of it is
    still held after them); the reserve comes back whole once space returns."""
    with small_disk(tmp_path / "disk", "16m") as disk:
        box = Outbox(disk / "outbox.sqlite", reserve_bytes=DEFAULT_CAP)
        assert box.reserve.held
        filler = fill(disk)
        with pytest.raises(OutboxError, match="full"):
            box.put(_message(0, Priority.EVENT), ["police"])
        for n in range(1, 21):
            assert box.put(_message(n, Priority.ALARM), ["police"]) is not None
        assert box.reserve.missing and box.reserve.bytes_held > 0  # steps, not all at once
        ids = [p.message.id for p in box.pending("police", 30)]
        assert ids == [f"m-{n}" for n in range(1, 21)]
        filler.unlink()
        assert box.reserve.hold() and box.reserve.held
        box.close()


def test_space_taken_as_it_is_freed_still_leaves_room_for_alarms(tmp_path: Path) -> None:
    """Worst case: something else takes every byte a step frees, at once. The alarms still
    go in (the WAL is rewound before a step is taken, so an alarm costs a few pages, not a
    step): 40 in a row, with reserve left over."""
    with small_disk(tmp_path / "disk", "16m") as disk:
        box = Outbox(disk / "outbox.sqlite", reserve_bytes=DEFAULT_CAP)
        fill(disk)
        for n in range(40):
            assert box.put(_message(n, Priority.ALARM), ["police"]) is not None, n
            fill(disk, f"more-{n}.bin")
        assert box.reserve.bytes_held > box.reserve.size // 2
        assert len(box.pending("police", 50)) == 40
        box.close()
