"""The contact input's rules as a pure state machine (no gpiozero, no threads): properties
over any edge sequence (events bounded while flapping, the settled state is the pin's,
outputs well formed), and examples of each transition."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.sensors import SensorConfig
from edge.sensors.contact_state import EVENT_CHANGES, Change, ContactMachine, Output

LEFT_OPEN = {Change.LEFT_OPEN_START, Change.LEFT_OPEN_END}


def _machine(
    *,
    debounce_s: float = 0.0,
    flap_changes: int = 20,
    flap_window_s: float = 10.0,
    fault_holdoff_s: float = 300.0,
    left_open_s: float | None = None,
) -> ContactMachine:
    return ContactMachine(
        debounce_s=debounce_s,
        flap_changes=flap_changes,
        flap_window_s=flap_window_s,
        fault_holdoff_s=fault_holdoff_s,
        left_open_s=left_open_s,
    )


def _tick_until(m: ContactMachine, until: float, level: bool) -> list[Output]:
    """Tick at each due time up to *until* (what the adapter's timer does)."""
    out: list[Output] = []
    for _ in range(10_000):
        at = m.due()
        if at is None or at > until:
            return out
        out += m.tick(at, level)
    raise AssertionError("the machine keeps asking for ticks")


def _feed(m: ContactMachine, level: bool, edges: list[tuple[float, bool]]) -> list[Output]:
    """Raw edges at increasing times, ticking at due times in between; *level*: the pin
    before the first edge."""
    out: list[Output] = []
    for t, new in edges:
        out += _tick_until(m, t, level)
        level = new
        out += m.edge(t, level)
    return out


def _changes(out: list[Output]) -> list[Change]:
    return [o.change for o in out]


@dataclass(frozen=True)
class Params:
    debounce_s: float
    flap_changes: int
    flap_window_s: float
    fault_holdoff_s: float


def _machine_for(p: Params, left_open_s: float | None) -> ContactMachine:
    """A machine with *p*'s settings and *left_open_s*."""
    return _machine(
        debounce_s=p.debounce_s,
        flap_changes=p.flap_changes,
        flap_window_s=p.flap_window_s,
        fault_holdoff_s=p.fault_holdoff_s,
        left_open_s=left_open_s,
    )


params = st.builds(
    Params,
    debounce_s=st.sampled_from([0.0, 0.01, 0.05, 0.3, 2.0]),
    flap_changes=st.integers(3, 12),
    flap_window_s=st.sampled_from([0.2, 1.0, 2.0, 10.0]),
    fault_holdoff_s=st.sampled_from([0.0, 1.0, 5.0, 300.0]),
)
gaps = st.one_of(st.floats(0.0, 0.02), st.floats(0.0, 3.0), st.floats(0.0, 30.0))
levels = st.booleans()


def _edges(start: float, gap_list: list[float], level_list: list[bool]) -> list[tuple[float, bool]]:
    t, out = start, []
    for gap, level in zip(gap_list, level_list, strict=False):
        t += gap
        out.append((t, level))
    return out


edge_sequences = given(
    p=params,
    initial=levels,
    gap_list=st.lists(gaps, max_size=60),
    level_list=st.lists(levels, min_size=60, max_size=60),
)
"""Any parameters, initial level and up to 60 edges (gaps and levels, for :func:`_edges`)."""


@settings(max_examples=200, deadline=None)
@given(
    p=params,
    door=st.booleans(),
    initial=levels,
    offsets=st.lists(st.floats(0.0, 1.0), max_size=80),
    level_list=st.lists(levels, min_size=80, max_size=80),
)
def test_a_burst_within_one_flap_window_gives_at_most_flap_changes_plus_3_events(
    p: Params, door: bool, initial: bool, offsets: list[float], level_list: list[bool]
) -> None:
    """Any raw edges (any times, any levels) within one flap window, on a quiet input, then
    left alone until nothing is due: at most flap_changes state events before the flapping
    is recognised, one fault START, one END and the settled state, so <= flap_changes + 3
    events; a door (left_open_s beyond the burst and its settling) adds at most a
    door_left_open START once it has settled open."""
    w = p.flap_window_s
    m = _machine_for(p, left_open_s=2 * w + 1.5 + p.debounce_s if door else None)
    m.start(0.0, initial)
    t0 = 1.0
    edges = [(t0 + w * x, lvl) for x, lvl in zip(sorted(offsets), level_list, strict=False)]
    out = _feed(m, initial, edges)
    last = edges[-1][1] if edges else initial
    out += _tick_until(m, float("inf"), last)
    events = [o for o in out if o.change in EVENT_CHANGES]
    core = [o for o in events if o.change not in LEFT_OPEN]
    assert len(core) <= p.flap_changes + 3, _changes(out)
    assert _changes([o for o in events if o.change in LEFT_OPEN]) in (
        [],
        [Change.LEFT_OPEN_START],
    )
    assert m.due() is None and not m.flapping


@settings(max_examples=200, deadline=None)
@edge_sequences
def test_the_reported_state_is_the_pin_once_quiet_for_debounce_or_flap_window(
    p: Params, initial: bool, gap_list: list[float], level_list: list[bool]
) -> None:
    """Any edge sequence, ticked at its due times: one tick debounce_s after the last edge
    (max(debounce_s, flap_window_s) if it was flapping) reports the pin's last level, the
    flapping is over, and then only a door's left-open timer can still be due."""
    m = _machine_for(p, left_open_s=50.0)
    m.start(0.0, initial)
    edges = _edges(1.0, gap_list, level_list)
    _feed(m, initial, edges)
    last_t, last = edges[-1] if edges else (1.0, initial)
    quiet = max(p.debounce_s, p.flap_window_s) if m.flapping else p.debounce_s
    m.tick(last_t + quiet, last)
    assert m.reported == last
    assert not m.flapping
    rest = _tick_until(m, float("inf"), last)
    assert _changes(rest) in ([], [Change.LEFT_OPEN_START])
    assert m.reported == last and m.due() is None


@settings(max_examples=200, deadline=None)
@edge_sequences
def test_outputs_are_well_formed_for_any_edge_sequence(
    p: Params, initial: bool, gap_list: list[float], level_list: list[bool]
) -> None:
    """Any edge sequence: state changes alternate; a fault START follows FLAPPING and its END
    follows STEADY, each START ended once, at most one START per fault_holdoff_s; a door is
    left open only while reported open, and that ends right after it is reported closed."""
    m = _machine_for(p, left_open_s=4.0)
    out = m.start(0.0, initial)
    edges = _edges(1.0, gap_list, level_list)
    out += _feed(m, initial, edges)
    out += _tick_until(m, float("inf"), edges[-1][1] if edges else initial)
    reported = flapping = fault = left_open = False
    fault_starts: list[float] = []
    previous: Change | None = None
    for o in out:
        match o.change:
            case Change.ACTIVE | Change.INACTIVE:
                assert (o.change is Change.ACTIVE) != reported
                reported = o.change is Change.ACTIVE
            case Change.FLAPPING:
                assert not flapping
                flapping = True
            case Change.FAULT_START:
                assert previous is Change.FLAPPING and not fault
                fault = True
                fault_starts.append(o.at)
            case Change.STEADY:
                assert flapping
                flapping = False
            case Change.FAULT_END:
                assert previous is Change.STEADY and fault
                fault = False
            case Change.LEFT_OPEN_START:
                assert reported and not left_open
                left_open = True
            case Change.LEFT_OPEN_END:
                assert previous is Change.INACTIVE and left_open
                left_open = False
        previous = o.change
    assert not flapping and not fault and m.faults == len(fault_starts)
    assert all(b - a >= p.fault_holdoff_s for a, b in itertools.pairwise(fault_starts))
    assert reported == m.reported


def test_bounce_is_ignored_then_the_pin_re_read() -> None:
    """The first change at once; edges within debounce_s are bounce; the pin is re-read
    when debounce_s has passed, and reported only if it settled elsewhere."""
    m = _machine(debounce_s=0.1)
    assert _changes(m.edge(0.0, True)) == [Change.ACTIVE]
    assert m.edge(0.01, False) == [] and m.edge(0.02, True) == []
    assert m.due() == 0.1
    assert m.tick(0.1, True) == [] and m.due() is None  # settled where it was reported
    assert _changes(m.edge(0.5, False)) == [Change.INACTIVE]
    assert m.edge(0.55, True) == [] and m.edge(0.56, False) == [] and m.edge(0.57, True) == []
    assert m.tick(0.59, True) == []  # not due yet
    out = m.tick(0.6, True)  # settled open
    assert _changes(out) == [Change.ACTIVE] and out[0].at == 0.6
    assert m.edges == 7 and m.changes == 3


def test_flapping_raises_one_fault_and_ends_it_once_quiet() -> None:
    """More than flap_changes edges within the window: FLAPPING and one fault START, then
    nothing while it flaps; quiet for the window: STEADY, fault END, the settled state."""
    m = _machine(flap_changes=3, flap_window_s=1.0)
    out = _feed(m, False, [(0.0, True), (0.1, False), (0.2, True)])
    assert _changes(out) == [Change.ACTIVE, Change.INACTIVE, Change.ACTIVE]
    out = m.edge(0.3, False)
    assert out == [
        Output(Change.FLAPPING, 0.3, edges=4),
        Output(Change.FAULT_START, 0.3, edges=4),
    ]
    assert m.flapping and m.faults == 1
    assert _feed(m, False, [(0.4 + i / 10, i % 2 == 0) for i in range(20)]) == []
    last = 0.4 + 19 / 10
    assert m.tick(last + 0.99, False) == [] and m.due() == last + 1.0
    out = m.tick(last + 1.0, False)
    assert _changes(out) == [Change.STEADY, Change.FAULT_END, Change.INACTIVE]
    assert not m.flapping and m.due() is None


def test_fault_holdoff_keeps_later_flapping_to_a_log_line() -> None:
    """A second flapping episode within fault_holdoff_s is logged (FLAPPING, STEADY) without
    a fault START or END; one after the holdoff raises a fault again."""
    m = _machine(flap_changes=3, flap_window_s=1.0, fault_holdoff_s=60.0)

    def episode(t: float) -> list[Change]:
        out = _feed(m, False, [(t + i / 100, i % 2 == 0) for i in range(6)])
        return _changes(out + _tick_until(m, float("inf"), True))

    assert Change.FAULT_START in episode(0.0)
    second = episode(10.0)
    assert Change.FLAPPING in second and Change.STEADY in second
    assert Change.FAULT_START not in second and Change.FAULT_END not in second
    third = episode(60.0)
    assert Change.FAULT_START in third and Change.FAULT_END in third
    assert m.faults == 2


def test_door_left_open_starts_after_its_delay_and_ends_on_close() -> None:
    """A door reported open for left_open_s is left open; closing ends both, with how long
    it was open; a shorter opening never becomes left open."""
    m = _machine(left_open_s=5.0)
    assert _changes(m.edge(0.0, True)) == [Change.ACTIVE]
    assert m.due() == 5.0 and m.tick(4.9, True) == []
    assert _changes(m.tick(5.0, True)) == [Change.LEFT_OPEN_START]
    assert m.due() is None
    out = m.edge(7.0, False)
    assert out == [
        Output(Change.INACTIVE, 7.0, seconds=7.0),
        Output(Change.LEFT_OPEN_END, 7.0, seconds=7.0),
    ]
    assert _changes(_feed(m, False, [(10.0, True), (11.0, False)])) == [
        Change.ACTIVE,
        Change.INACTIVE,
    ]
    assert m.due() is None


def test_from_config_and_start() -> None:
    """Only doors get a left-open timer; an input already active at start is reported at
    once, an inactive one not at all."""
    door = SensorConfig(name="d", kind="door", pin=17, left_open_s=30)
    smoke = SensorConfig(name="s", kind="smoke", pin=18)
    m = ContactMachine.from_config(door)
    assert m.left_open_s == 30 and m.debounce_s == door.debounce_s
    assert ContactMachine.from_config(smoke).left_open_s is None
    assert _changes(m.start(3.0, True)) == [Change.ACTIVE] and m.due() == 33.0
    assert ContactMachine.from_config(smoke).start(3.0, False) == []
