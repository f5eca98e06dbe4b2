"""A corrupt outbox found at start is kept for forensics, reported, and replaced by a fresh
one so alarms still flow; a good outbox is opened as it is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.core.ids import new_id
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


def _message() -> OutboxMessage:
    return OutboxMessage(
        id=new_id(), priority=Priority.ALARM, kind="smoke", topic="events", payload=b"{}",
        created=time.time(),
    )  # fmt: skip


def test_garbage_outbox_is_set_aside_and_a_fresh_one_takes_alarms(tmp_path: Path) -> None:
    """Random bytes where the outbox should be: kept under a .corrupt- name with the same
    bytes, the reason recorded, and the new outbox stores and returns an alarm."""
    path = tmp_path / "outbox.sqlite"
    garbage = b"this is not a database " * 500
    path.write_bytes(garbage)
    box = Outbox(path)
    assert box.recovered is not None
    kept = Path(box.recovered["kept_as"])
    assert kept.name.startswith("outbox.sqlite.corrupt-") and kept.read_bytes() == garbage
    assert "not a database" in box.recovered["reason"]
    box.put(_message(), ["police"])
    assert len(box.pending("police", 10)) == 1
    box.close()


def test_zero_length_outbox_is_reported_not_silently_recreated(tmp_path: Path) -> None:
    """An outbox file truncated to nothing is reported as lost data (kept aside), not
    silently treated as a new empty queue."""
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"")
    box = Outbox(path)
    assert box.recovered is not None and "empty" in box.recovered["reason"]
    box.close()


def test_a_good_outbox_keeps_its_messages(tmp_path: Path) -> None:
    """Reopening a healthy outbox recovers nothing and keeps what was queued."""
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    box.put(_message(), ["police"])
    box.close()
    again = Outbox(path)
    assert again.recovered is None and again.total() == 1
    assert not list(tmp_path.glob("*.corrupt-*"))
    again.close()
