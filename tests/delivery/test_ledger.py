"""Acknowledgements on a full disk: a delivered message leaves the outbox only once its audit
record is written. While the record cannot be written it stays in the outbox (not sent
again meanwhile); once there is room the records are written in acknowledgement order and
the messages leave; a kill in between loses nothing: the messages are still queued and go
(and are recorded) again."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from faults import fill, small_disk

from edge.clips.store import ClipStore
from edge.evidence.audit import AuditLog, verify_log
from edge.link.acks import OutboxBooks
from edge.outbox.ledger import DeliveryLedger
from edge.outbox.message import OutboxMessage, Pending, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


def _shared(log: Path) -> list[str]:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [r["id"] for r in records if r["action"] == "shared"]


def _alarm(n: int) -> OutboxMessage:
    return OutboxMessage(f"ev-{n}", Priority.ALARM, "smoke", "events", b"{}", time.time())


def test_audit_records_wait_for_space_and_keep_their_order(tmp_path: Path) -> None:
    """Three messages acknowledged while the audit log's disk is full: they stay in the
    outbox, held from sending again; when space returns the three records are written in
    acknowledgement order and the messages leave the outbox."""
    outbox = Outbox(tmp_path / "outbox.sqlite")
    store = ClipStore(tmp_path / "clips", 10**8, 86400)
    with small_disk(tmp_path / "disk", "1m") as disk:
        audit = AuditLog(disk / "audit.log")
        ledger = DeliveryLedger(outbox, audit, store)
        outbox.put_many([_alarm(n) for n in range(3)], ["police"])
        pending = outbox.pending("police", 10)
        filler = fill(disk)
        ledger.acknowledged("police", pending)  # must not raise
        assert ledger.unrecorded == 3
        assert outbox.total() == 3  # nothing leaves before its record is on disk
        assert set(ledger.unsettled("police")) == {p.seq for p in pending}
        assert ledger.retry() == 0 and outbox.total() == 3
        filler.unlink()
        assert ledger.retry() == 3 and ledger.unrecorded == 0
        assert outbox.total() == 0 and not ledger.unsettled("police")
        assert _shared(disk / "audit.log") == ["ev-0", "ev-1", "ev-2"]
        assert verify_log(disk / "audit.log").ok


def test_a_kill_before_the_records_are_written_loses_no_record(tmp_path: Path) -> None:
    """Delivered on a full disk, then the process dies (a new ledger on the reopened
    outbox, as after SIGKILL): the messages are still queued, go again, and this time their
    records are written."""
    path = tmp_path / "outbox.sqlite"
    store = ClipStore(tmp_path / "clips", 10**8, 86400)
    with small_disk(tmp_path / "disk", "1m") as disk:
        outbox = Outbox(path)
        outbox.put_many([_alarm(n) for n in range(4)], ["police"])
        ledger = DeliveryLedger(outbox, AuditLog(disk / "audit.log"), store)
        filler = fill(disk)
        ledger.acknowledged("police", outbox.pending("police", 10))
        assert ledger.unrecorded == 4
        del ledger, outbox  # SIGKILL: memory gone, no close
        filler.unlink()
        again = Outbox(path)
        resent = again.pending("police", 10)
        assert [p.message.id for p in resent] == [f"ev-{n}" for n in range(4)]
        ledger = DeliveryLedger(again, AuditLog(disk / "audit.log"), store)
        ledger.acknowledged("police", resent)
        assert again.total() == 0 and _shared(disk / "audit.log") == [f"ev-{n}" for n in range(4)]


def test_outbox_books_keep_what_they_cannot_forget(tmp_path: Path) -> None:
    """A link without a ledger: delivered messages leave the outbox; a sequence number the
    outbox cannot forget now stays listed as unsettled and is forgotten on the next try; a
    copy sent from memory (sequence 0) has no books."""
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.put_many([_alarm(n) for n in range(2)], ["police"])
    books = OutboxBooks(outbox)
    pending = outbox.pending("police", 10)
    books.acknowledged("police", [*pending, Pending(0, _alarm(9))])
    assert outbox.total() == 0 and not books.unsettled("police")
