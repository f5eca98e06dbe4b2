"""The stop's delivery flush: it waits for the connected destinations only, gives up when
nothing moves, and always ends within the stop budget systemd gives the node."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

from edge.node.stopflush import AFTER_FLUSH_S, STOP_BUDGET_S, DeliveryFlush
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox

pytestmark = pytest.mark.faults


@dataclass
class Dest:
    """A destination's name."""

    name: str


@dataclass
class Link:
    """A link's face as the flush sees it: its destination and whether it is connected."""

    dest: Dest
    connected: bool
    woken: int = 0

    def wake(self) -> None:
        """Count the wake-up."""
        self.woken += 1


def _outbox(tmp: Path, n: int, dest: str = "police") -> Outbox:
    box = Outbox(tmp / "outbox.sqlite")
    for i in range(n):
        m = OutboxMessage(f"m-{i}", Priority.CLIP, "clip", "clips/x/0", b"x", time.time())
        box.put(m, [dest])
    return box


def _acks(box: Outbox, dest: str, every_s: float, stop: threading.Event) -> threading.Thread:
    """Acknowledge one message of *dest* every *every_s* (a link making progress)."""

    def run() -> None:
        while not stop.wait(every_s):
            pending = box.pending(dest, 1)
            if not pending:
                return
            box.ack(dest, [pending[0].seq])

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_the_budget_is_the_units_stop_timeout() -> None:
    """STOP_BUDGET_S is TimeoutStopSec of the systemd unit, and leaves the links time after
    the flush."""
    unit = (ROOT / "systemd" / "warehouse-edge.service").read_text()
    found = re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M)
    assert found is not None and float(found.group(1)) == STOP_BUDGET_S
    assert 0 < AFTER_FLUSH_S < STOP_BUDGET_S


def test_nothing_connected_nothing_waited_for(tmp_path: Path) -> None:
    """No destination connected: the stop does not wait (the outbox keeps it all)."""
    flush = DeliveryFlush(_outbox(tmp_path, 3), [Link(Dest("police"), connected=False)])
    t0 = time.monotonic()
    flush.stop()
    assert flush.result == "offline" and time.monotonic() - t0 < 0.5


def test_a_connected_destination_is_waited_for_until_it_has_all(tmp_path: Path) -> None:
    """Messages acknowledged one by one: the flush waits until the last, and wakes the link;
    another, disconnected destination's backlog is not waited for."""
    box = _outbox(tmp_path, 5)
    box.put(OutboxMessage("other", Priority.EVENT, "door_open", "events", b"{}", 0.0), ["dr"])
    link = Link(Dest("police"), connected=True)
    flush = DeliveryFlush(box, [link, Link(Dest("dr"), connected=False)])
    stop = threading.Event()
    _acks(box, "police", 0.1, stop)
    flush.stop()
    stop.set()
    assert flush.result == "flushed" and link.woken == 1
    assert box.depth().get("police", {}) == {}


def test_a_queue_that_does_not_move_is_given_up(tmp_path: Path) -> None:
    """Connected but nothing acknowledged (the broker refuses): given up after stall_s."""
    flush = DeliveryFlush(_outbox(tmp_path, 2), [Link(Dest("police"), True)], stall_s=0.3)
    t0 = time.monotonic()
    flush.stop()
    assert flush.result == "stalled"
    assert 0.3 <= time.monotonic() - t0 < 2.0


def test_a_slow_link_is_cut_at_the_budget_counted_from_the_stop(tmp_path: Path) -> None:
    """A link that keeps moving but will not finish: the flush ends at the budget less what
    is kept for after it, counted from the start of the stop (begin), not from the flush."""
    box = _outbox(tmp_path, 1000)
    flush = DeliveryFlush(box, [Link(Dest("police"), True)], budget_s=1.6, after_s=0.6)
    flush.begin()
    time.sleep(0.4)  # the services before it took this long to stop
    stop = threading.Event()
    _acks(box, "police", 0.05, stop)
    t0 = time.monotonic()
    flush.stop()
    stop.set()
    assert flush.result == "budget"
    assert time.monotonic() - t0 == pytest.approx(0.6, abs=0.3)
