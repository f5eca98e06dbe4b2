"""The durable outbox: order, priorities, per-destination delivery, persistence."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from edge.core.errors import OutboxError
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox


def _msg(i: int, prio: Priority = Priority.EVENT, kind: str = "motion") -> OutboxMessage:
    return OutboxMessage(
        id=f"m{i:04d}",
        priority=prio,
        kind=kind,
        topic="events",
        payload=b"x%d" % i,
        created=time.time() + i,
    )


def test_pending_orders_by_priority_then_age(tmp_path: Path) -> None:
    """Alarms come first, health last; within a class the oldest first."""
    box = Outbox(tmp_path / "o.sqlite")
    box.put(_msg(1, Priority.HEALTH), ["police"])
    box.put(_msg(2, Priority.EVENT), ["police"])
    box.put(_msg(3, Priority.ALARM), ["police"])
    box.put(_msg(4, Priority.EVENT), ["police"])
    box.put(_msg(5, Priority.CLIP), ["police"])
    ids = [p.message.id for p in box.pending("police", 10)]
    assert ids == ["m0003", "m0002", "m0004", "m0005", "m0001"]


def test_message_leaves_only_when_every_destination_acked(tmp_path: Path) -> None:
    """A message for two destinations stays until both have acknowledged it."""
    box = Outbox(tmp_path / "o.sqlite")
    seq = box.put(_msg(1), ["police", "operator"])
    assert seq is not None
    box.ack("police", [seq])
    assert box.pending("police", 10) == []
    assert [p.seq for p in box.pending("operator", 10)] == [seq]
    assert box.total() == 1
    box.ack("operator", [seq])
    assert box.total() == 0


def test_not_stored_when_no_destination_may_receive_it(tmp_path: Path) -> None:
    """With no permitted destination nothing is stored (and nothing can be sent)."""
    box = Outbox(tmp_path / "o.sqlite")
    assert box.put(_msg(1), []) is None
    assert box.total() == 0


def test_skip_leaves_out_inflight(tmp_path: Path) -> None:
    """Messages already in flight are not handed out twice."""
    box = Outbox(tmp_path / "o.sqlite")
    seqs = [box.put(_msg(i), ["police"]) for i in range(5)]
    assert None not in seqs
    got = box.pending("police", 2, skip=[s for s in seqs[:2] if s is not None])
    assert [p.seq for p in got] == seqs[2:4]


def test_same_id_is_stored_once(tmp_path: Path) -> None:
    """Putting a message id twice keeps one copy (stable ids make retries idempotent)."""
    box = Outbox(tmp_path / "o.sqlite")
    a = box.put(_msg(1), ["police"])
    b = box.put(_msg(1), ["police"])
    assert a == b and box.total() == 1


def test_survives_reopen(tmp_path: Path) -> None:
    """What was accepted is still there after the process goes away."""
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    for i in range(3):
        box.put(_msg(i), ["police"])
    del box  # no close(): as after a crash
    again = Outbox(path)
    assert [p.message.payload for p in again.pending("police", 10)] == [b"x0", b"x1", b"x2"]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_depth_per_destination_and_class(tmp_path: Path) -> None:
    """depth() reports what waits, per destination and class."""
    box = Outbox(tmp_path / "o.sqlite")
    box.put(_msg(1, Priority.ALARM), ["police"])
    box.put(_msg(2), ["police", "operator"])
    assert box.depth() == {"police": {"alarm": 1, "event": 1}, "operator": {"event": 1}}


def test_unopenable_outbox_is_a_clear_error(tmp_path: Path) -> None:
    """A path that cannot hold a database (a directory) is refused naming it, and nothing
    there is moved or deleted. (A corrupt *file* is set aside: test_outbox_recovery.py.)"""
    path = tmp_path / "o.sqlite"
    path.mkdir()
    (path / "keep").write_text("x")
    with pytest.raises(OutboxError, match=str(path)):
        Outbox(path)
    assert (path / "keep").read_text() == "x"


def test_puts_stay_fully_synchronous_after_acks(tmp_path: Path) -> None:
    """Acknowledgements skip the disk flush (a lost ack only means a resend), but every put
    is flushed: the connection is back to synchronous=FULL (2) after an ack."""
    box = Outbox(tmp_path / "o.sqlite")
    seq = box.put(_msg(1), ["police"])
    assert seq is not None
    box.ack("police", [seq])
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert box.put(_msg(2), ["police"]) is not None
