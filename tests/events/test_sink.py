"""Accepting events when storage fails: local outputs first, nothing lost, order kept, a
bounded memory that gives up information before alarms."""

from __future__ import annotations

import errno
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.errors import OutboxError
from edge.core.ids import new_id
from edge.events.backlog import Backlog
from edge.events.context import EventFactory
from edge.events.model import Event, Kind, Severity, State
from edge.events.sink import EventSink, storage_fault

pytestmark = pytest.mark.faults

FACTORY = EventFactory("n", "semarang")


def _event(severity: Severity = Severity.INFO, kind: Kind = Kind.DOOR_OPEN) -> Event:
    return FACTORY.make(kind, severity, State.START, new_id(), sensor="door")


class FlakyStore:
    """An event store whose disk can be made full."""

    def __init__(self) -> None:
        self.full = False
        self.stored: list[Event] = []
        self.calls: list[str] = []

    def store_event(self, event: Event) -> Sequence[str]:
        self.calls.append(f"store {event.id}")
        if self.full:
            raise OutboxError("outbox.sqlite: cannot store message: database or disk is full")
        self.stored.append(event)
        return ["police"]


def test_local_outputs_hear_an_alarm_before_and_regardless_of_storage() -> None:
    """With the disk full the siren's listener is still called, and first."""
    store = FlakyStore()
    store.full = True
    sink = EventSink(store)
    heard: list[str] = []
    sink.subscribe_local(lambda e: heard.append(f"siren {e.id}"))
    smoke = _event(Severity.CRITICAL, Kind.SMOKE)
    sink.accept(smoke)  # must not raise
    assert heard == [f"siren {smoke.id}"]
    assert store.stored == [] and len(sink.backlog) == 1
    assert sink.fault == "disk_full"


def test_events_wait_in_memory_and_are_stored_in_order_once_space_returns() -> None:
    """Events accepted on a full disk are stored, in order, by the next retry; listeners of
    stored events hear of them then; the fault clears."""
    store = FlakyStore()
    sink = EventSink(store)
    told: list[str] = []
    sink.subscribe(lambda e: told.append(e.id))
    first = _event()
    sink.accept(first)
    store.full = True
    waiting = [_event(), _event(Severity.ALARM), _event()]
    for e in waiting:
        sink.accept(e)
    assert [e.id for e in store.stored] == [first.id] and told == [first.id]
    store.full = False
    stored = sink.retry()
    assert [e.id for e in stored] == [e.id for e in waiting]
    assert [e.id for e in store.stored] == [first.id] + [e.id for e in waiting]
    assert told == [first.id] + [e.id for e in waiting]
    assert sink.fault is None and len(sink.backlog) == 0


def test_a_new_event_never_overtakes_waiting_ones() -> None:
    """When space returns, the next accept stores the waiting events before its own."""
    store = FlakyStore()
    sink = EventSink(store)
    store.full = True
    old = _event()
    sink.accept(old)
    store.full = False
    new = _event()
    sink.accept(new)
    assert [e.id for e in store.stored] == [old.id, new.id]


def test_an_event_that_can_never_be_stored_does_not_block_the_rest() -> None:
    """A bug raised while storing one event drops that one (counted); the rest go on."""
    store = FlakyStore()
    sink = EventSink(store)
    bad = _event()

    def store_event(event: Event) -> Sequence[str]:
        if event.id == bad.id:
            raise TypeError("a bug")
        return FlakyStore.store_event(store, event)

    store.store_event = store_event  # type: ignore[method-assign]
    good = _event()
    sink.accept(bad)
    sink.accept(good)
    assert [e.id for e in store.stored] == [good.id] and sink.unstorable == 1


def test_storage_fault_names_a_full_disk() -> None:
    """ENOSPC anywhere in the cause chain, or SQLite's words for it, mean disk_full."""
    assert storage_fault(OutboxError("x: database or disk is full")) == "disk_full"
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            raise OutboxError("cannot write") from e
    except OutboxError as e:
        assert storage_fault(e) == "disk_full"
    assert storage_fault(OutboxError("file is not a database")) == "store_error"


@settings(max_examples=200, deadline=None)
@given(
    severities=st.lists(st.sampled_from(list(Severity)), min_size=1, max_size=60),
    cap=st.integers(min_value=1, max_value=10),
)
def test_backlog_is_bounded_and_gives_up_information_before_alarms(
    severities: list[Severity], cap: int
) -> None:
    """For any stream of events into a full backlog: never more than the cap; the order of
    what is kept is the order of arrival; an alarm is dropped only when every kept event is
    an alarm; every drop is counted."""
    backlog = Backlog(cap)
    events = [_event(s) for s in severities]
    urgent = {Severity.ALARM, Severity.CRITICAL}
    for e in events:
        before = [k for k in _kept(backlog)]
        backlog.add(e)
        kept = _kept(backlog)
        assert len(kept) <= cap
        lost = [k for k in [*before, e] if k not in kept]
        for gone in lost:
            if gone.severity in urgent:
                assert all(k.severity in urgent for k in [*before, e])
    kept = _kept(backlog)
    order = [e.id for e in events]
    assert [k.id for k in kept] == sorted((k.id for k in kept), key=order.index)
    assert sum(backlog.dropped.values()) == len(events) - len(kept)
    newest_alarms = [e for e in events if e.severity in urgent][-cap:]
    assert all(a in kept for a in newest_alarms)


def _kept(backlog: Backlog) -> list[Event]:
    out: list[Event] = []
    try:
        backlog.flush(out.append)
    finally:
        for e in out:
            backlog.add(e)
    return out
