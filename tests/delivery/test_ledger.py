"""Acknowledgements on a full disk: the audit records of what was shared wait in memory, in
order, and are written once there is room; the chain stays intact."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from faults import fill, small_disk

from edge.clips.store import ClipStore
from edge.delivery.ledger import DeliveryLedger
from edge.delivery.message import OutboxMessage, Priority
from edge.delivery.outbox import Outbox
from edge.evidence.audit import AuditLog, verify_log

pytestmark = pytest.mark.faults


def test_audit_records_wait_for_space_and_keep_their_order(tmp_path: Path) -> None:
    """Three messages acknowledged while the audit log's disk is full: nothing is lost, the
    three records are written in acknowledgement order when space returns."""
    outbox = Outbox(tmp_path / "outbox.sqlite")
    store = ClipStore(tmp_path / "clips", 10**8, 86400)
    with small_disk(tmp_path / "disk", "1m") as disk:
        audit = AuditLog(disk / "audit.log")
        ledger = DeliveryLedger(outbox, audit, store)
        for n in range(3):
            outbox.put(
                OutboxMessage(f"ev-{n}", Priority.ALARM, "smoke", "events", b"{}", time.time()),
                ["police"],
            )
        pending = outbox.pending("police", 10)
        filler = fill(disk)
        outbox.ack("police", [p.seq for p in pending])
        ledger.acknowledged("police", pending)  # must not raise
        assert ledger.unrecorded == 3
        filler.unlink()
        assert ledger.retry() == 3 and ledger.unrecorded == 0
        shared = [
            json.loads(line)["id"]
            for line in (disk / "audit.log").read_text().splitlines()
            if json.loads(line)["action"] == "shared"
        ]
        assert shared == ["ev-0", "ev-1", "ev-2"]
        assert verify_log(disk / "audit.log").ok
