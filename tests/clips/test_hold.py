"""The clip state machine (edge.clips.hold): every transition by example, then properties
over any sequence of holds, releases, packets and ticks."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.clips.hold import SILENCE_GRACE_S, ClipClosed, ClipHold, ClipOpened, EndReason, Step
from edge.clips.hold import Phase as P

POST, CAP = 2.0, 10.0
FAST = settings(max_examples=150, deadline=None)


def _ids() -> Callable[[], str]:
    n = itertools.count(1)
    return lambda: f"clip-{next(n)}"


def _machine(post: float = POST, cap: float = CAP, pre: float = 1.0) -> ClipHold:
    return ClipHold(post, cap, start_of=lambda t: t - pre, make_id=_ids())


def _at(m: ClipHold) -> P:
    """The phase now (a call: mypy must not narrow it across further inputs)."""
    return m.phase


def _post_roll(at: float = 5.0) -> ClipHold:
    """A clip held at 1.0 (so starting at 0.0, capped at 10.0) and released at *at*."""
    m = _machine()
    m.hold("a", "e1", 1.0)
    m.release("a", None, at)
    return m


# -- every transition, by example -------------------------------------------------------------


def test_idle_ignores_everything_but_a_hold() -> None:
    """IDLE: packets, ticks, stops and releases change nothing and open no clip."""
    m = _machine()
    for step in (m.packet(1.0, True), m.tick(1e6), m.stop(EndReason.SHUTDOWN)):
        assert step == Step()
    assert m.release("a", "e", 1.0) == Step()
    assert _at(m) is P.IDLE and m.clip_id is None and m.holds == frozenset()


def test_hold_opens_a_clip_and_further_holds_and_packets_keep_it() -> None:
    """IDLE -hold-> HELD: a new id, triggered at t, starting at start_of(t); HELD -hold->
    HELD gathers keys and events in the same clip; HELD -packet before the cap-> HELD with
    the packet appended."""
    m = _machine()
    assert m.hold("a", "e1", 7.0) == Step("clip-1", opened=ClipOpened("clip-1", 7.0, 6.0))
    assert _at(m) is P.HELD and m.clip_id == "clip-1" and m.start_t == 6.0
    assert m.hold("b", "e2", 8.0) == Step("clip-1")
    assert m.holds == {"a", "b"} and m.event_ids == {"e1", "e2"} and m.released_t is None
    assert m.packet(15.9, True) == Step("clip-1", append=True) and _at(m) is P.HELD


def test_releases_start_the_post_roll_at_the_last_key_unknown_keys_do_nothing() -> None:
    """HELD -release, another key holds-> HELD; HELD -release of the last-> POST_ROLL from
    t. A release's event id is recorded (an empty or missing one is not); a release of a key
    that holds nothing (unknown or released already) is an empty step and changes nothing."""
    m = _machine()
    m.hold("a", "e1", 1.0)
    m.hold("b", "e2", 1.0)
    assert m.release("a", "e3", 2.0) == Step("clip-1") and m.release("z", "e9", 2.0) == Step()
    assert _at(m) is P.HELD and m.released_t is None and m.holds == {"b"}
    assert m.release("b", "", 3.0) == Step("clip-1") and m.release("b", "e9", 4.0) == Step()
    assert _at(m) is P.POST_ROLL and m.released_t == 3.0 and m.event_ids == {"e1", "e2", "e3"}


def test_post_roll_becomes_closing_and_ends_at_the_next_keyframe() -> None:
    """POST_ROLL -packet before release + post_roll-> POST_ROLL; -packet at it-> CLOSING;
    CLOSING -other packet-> CLOSING (all appended); CLOSING -keyframe-> IDLE, closed for
    post_roll, the keyframe not in the clip (it ends on a GOP boundary)."""
    m = _post_roll(at=5.0)
    assert m.packet(6.9, True) == Step("clip-1", append=True) and _at(m) is P.POST_ROLL
    assert m.packet(7.0, True) == Step("clip-1", append=True) and _at(m) is P.CLOSING
    assert m.packet(7.5, False) == Step("clip-1", append=True) and _at(m) is P.CLOSING
    closed = ClipClosed("clip-1", EndReason.POST_ROLL, 1.0, 0.0, frozenset({"e1"}))
    assert m.packet(8.0, True) == Step(closed=closed) and _at(m) is P.IDLE


@pytest.mark.parametrize("closing", [False, True])
def test_a_hold_cancels_the_post_roll(closing: bool) -> None:
    """POST_ROLL -hold-> HELD and CLOSING -hold-> HELD: same clip, the post-roll forgotten,
    the next keyframe joins the clip instead of ending it."""
    m = _post_roll(at=5.0)
    if closing:
        m.packet(7.0, False)
        assert _at(m) is P.CLOSING
    assert m.hold("b", "e2", 7.1) == Step("clip-1")
    assert _at(m) is P.HELD and m.released_t is None and m.holds == {"b"}
    assert m.packet(7.2, True) == Step("clip-1", append=True)


def test_cap_while_held_closes_at_a_keyframe_and_continues() -> None:
    """HELD -packet at start + max_s-> CAPPED; CAPPED -other packet-> CAPPED (appended);
    CAPPED -keyframe, held-> HELD: closed for cap, and a continuation with a new id opens
    at the keyframe with the same keys and events."""
    m = _machine()
    m.hold("a", "e1", 1.0)
    assert m.packet(9.9, False) == Step("clip-1", append=True) and _at(m) is P.HELD
    assert m.packet(10.0, False) == Step("clip-1", append=True) and _at(m) is P.CAPPED
    assert m.packet(10.5, False) == Step("clip-1", append=True) and _at(m) is P.CAPPED
    assert m.packet(11.0, True) == Step(
        closed=ClipClosed("clip-1", EndReason.CAP, 1.0, 0.0, frozenset({"e1"})),
        opened=ClipOpened("clip-2", 11.0, 10.0, continues="clip-1"),
    )
    assert _at(m) is P.HELD and m.holds == {"a"} and m.event_ids == {"e1"}


def test_keys_still_count_while_capped() -> None:
    """CAPPED -hold/release-> CAPPED; CAPPED -keyframe, nothing holds-> IDLE, closed for cap
    with every event and no continuation."""
    m = _machine()
    m.hold("a", "e1", 1.0)
    m.packet(10.0, False)
    assert m.hold("b", "e2", 10.1) == Step("clip-1")
    assert m.release("a", None, 10.2) == m.release("b", "e3", 10.3) == Step("clip-1")
    assert _at(m) is P.CAPPED and m.holds == frozenset()
    closed = ClipClosed("clip-1", EndReason.CAP, 1.0, 0.0, frozenset({"e1", "e2", "e3"}))
    assert m.packet(11.0, True) == Step(closed=closed) and _at(m) is P.IDLE


def test_cap_in_the_post_roll_and_post_roll_over_before_the_cap() -> None:
    """POST_ROLL -packet at the cap, post-roll not over-> CAPPED (a hold then makes the
    keyframe open a continuation); a packet both past the post-roll and at the cap makes
    the clip CLOSING instead, so it closes for post_roll."""
    m = _post_roll(at=9.5)
    assert m.packet(10.0, False).append and _at(m) is P.CAPPED
    m.hold("b", "e2", 10.1)
    step = m.packet(10.5, True)
    assert step.closed is not None and step.closed.reason is EndReason.CAP and step.opened
    m = _post_roll(at=5.0)
    assert m.packet(10.0, False).append and m.packet(10.2, False).append and _at(m) is P.CLOSING
    step = m.packet(10.5, True)
    assert step.closed is not None and step.closed.reason is EndReason.POST_ROLL


GRACE = POST + SILENCE_GRACE_S
TICKS = [(False, GRACE, False), (False, GRACE + 0.1, True), (True, GRACE + 0.1, False)]
TICKS += [(True, CAP, False), (True, CAP + 0.1, True)]


@pytest.mark.parametrize("held,silent,closes", TICKS)
def test_tick_gives_up_on_a_silent_input(held: bool, silent: float, closes: bool) -> None:
    """any open -tick-> IDLE (input_silent) once the silence exceeds post_roll + grace and,
    for a held clip, the cap as well; otherwise a tick changes nothing."""
    m = _post_roll()
    if held:
        m.hold("a", "e1", 6.0)
    step = m.tick(silent)
    closed = ClipClosed("clip-1", EndReason.INPUT_SILENT, 1.0, 0.0, frozenset({"e1"}))
    assert step == (Step(closed=closed) if closes else Step())
    assert (_at(m) is P.IDLE) is closes


@pytest.mark.parametrize("phase", [P.HELD, P.POST_ROLL, P.CLOSING, P.CAPPED])
@pytest.mark.parametrize("reason", [EndReason.SHUTDOWN, EndReason.STREAM_RESTART])
def test_stop_closes_from_every_open_phase(phase: P, reason: EndReason) -> None:
    """any open -stop-> IDLE with the given reason, whatever holds it, no continuation."""
    m = _post_roll(at=1.0) if phase in (P.POST_ROLL, P.CLOSING) else _machine()
    if phase in (P.HELD, P.CAPPED):
        m.hold("a", "e1", 1.0)
    m.packet({P.CLOSING: 3.0, P.CAPPED: 10.0}.get(phase, 2.0), False)
    assert _at(m) is phase
    step = m.stop(reason)
    assert step.closed is not None and step.closed.reason is reason and _at(m) is P.IDLE
    assert step.opened is None


def test_rejects_nonsense_settings() -> None:
    """A negative post-roll or a cap that is not positive is refused."""
    with pytest.raises(ValueError, match="post-roll"):
        ClipHold(-1.0, 10.0)
    with pytest.raises(ValueError, match="longest"):
        ClipHold(1.0, 0.0)


# -- properties over any sequence -----------------------------------------------------------

KEYS = ("a", "b")


@dataclass(frozen=True)
class Op:
    """``hold``/``release`` of *key*; a ``packet`` *n* quarter seconds on (a keyframe if *key*
    is set); a ``tick`` after *n* quarters of silence. Quarters add up exactly."""

    kind: str
    key: str = ""
    n: int = 0


def _op(kind: str, keys: tuple[str, ...] = ("",), most: int = 0) -> st.SearchStrategy[Op]:
    return st.builds(Op, st.just(kind), st.sampled_from(keys), st.integers(0, most))


ONE_OP = st.one_of(  # packets come often, ticks seldom; a release of a key not held is common
    *(_op(kind, KEYS) for kind in ("hold", "release", "hold", "release")),
    *(_op("packet", ("", "", "key"), 6) for _ in range(8)),
    _op("tick", most=60),
)
OPS = st.lists(ONE_OP, min_size=20, max_size=80)


@dataclass(frozen=True)
class Cfg:
    """Post-roll, cap and pre-roll, in seconds."""

    post: float
    cap: float
    pre: float


CFGS = st.builds(
    Cfg, *(st.integers(a, b).map(lambda n: n / 4) for a, b in ((0, 20), (20, 60), (0, 12)))
)


@dataclass(frozen=True)
class Rec:
    """One input, the clock then, and the machine's phase, keys and clip around it."""

    op: Op
    t: float
    event: str
    before: tuple[P, frozenset[str], str | None]
    after: tuple[P, frozenset[str], str | None]
    step: Step


def _play(cfg: Cfg, ops: list[Op]) -> list[Rec]:
    """Drive a machine through *ops*, the clock moving only with packets."""
    m = _machine(cfg.post, cfg.cap, cfg.pre)
    recs, t = [], 0.0
    for i, op in enumerate(ops):
        before, event = (m.phase, m.holds, m.clip_id), f"e{i}"
        if op.kind == "hold":
            step = m.hold(op.key, event, t)
        elif op.kind == "release":
            step = m.release(op.key, event, t)
        elif op.kind == "packet":
            t += op.n / 4
            step = m.packet(t, bool(op.key))
        else:
            step = m.tick(op.n / 4)
        recs.append(Rec(op, t, event, before, (m.phase, m.holds, m.clip_id), step))
    return recs


MOVES = {  # (phase, input) -> phases it may lead to; any other input leaves the phase as is
    **{(p, "hold"): {P.HELD} for p in (P.IDLE, P.POST_ROLL, P.CLOSING)},
    (P.HELD, "release"): {P.HELD, P.POST_ROLL},
    (P.HELD, "packet"): {P.HELD, P.CAPPED},
    (P.POST_ROLL, "packet"): {P.POST_ROLL, P.CLOSING, P.CAPPED},
    (P.CLOSING, "packet"): {P.CLOSING, P.IDLE},
    (P.CAPPED, "packet"): {P.CAPPED, P.IDLE, P.HELD},
}


@FAST
@given(OPS, CFGS)
def test_only_documented_transitions_and_never_closed_while_held(ops: list[Op], cfg: Cfg) -> None:
    """Every input moves the machine along the documented transitions only (a tick may also
    close any open clip); the keys are exactly those held and not released since (forgotten
    when a clip closes without a continuation); only IDLE has no clip, only HELD and CAPPED
    have keys. Holds and releases never close a clip; a post_roll close never happens while
    a key holds it; a cap close opens a continuation exactly when keys hold it, with those
    keys; a silent input closes a held clip only once the silence exceeds the cap too."""
    model: set[str] = set()
    for r in _play(cfg, ops):
        (was, keys, _), (phase, held, clip) = r.before, r.after
        closed, opened = r.step.closed, r.step.opened
        if closed is not None:
            assert r.op.kind in ("packet", "tick") and closed.clip_id == r.before[2]
            assert closed.reason is not EndReason.POST_ROLL or not keys
            assert closed.reason is not EndReason.CAP or (opened is not None) == bool(keys)
            assert opened is None or (opened.continues == closed.clip_id and held == keys)
            assert closed.reason is not EndReason.INPUT_SILENT or not keys or r.op.n / 4 > cfg.cap
        may = MOVES.get((was, r.op.kind), {was}) | ({P.IDLE} if r.op.kind == "tick" else set())
        assert phase in may
        if r.op.kind == "hold":
            model.add(r.op.key)
        elif r.op.kind == "release":
            model.discard(r.op.key)
        if closed is not None and opened is None:
            model.clear()
        assert held == model and (phase is P.IDLE) == (clip is None)
        assert not held or phase in (P.HELD, P.CAPPED)
        assert held or phase is not P.HELD


@FAST
@given(OPS, CFGS)
def test_post_roll_closes_no_earlier_than_due_and_at_the_first_keyframe_after(
    ops: list[Op], cfg: Cfg
) -> None:
    """After the last release at r, unless held again: no post_roll close before
    r + post_roll_s; once a packet at or past r + post_roll_s has come, the next keyframe
    closes the clip; a tick closes it exactly when the silence exceeds post_roll_s + grace."""
    released: float | None = None
    due = False
    for r in _play(cfg, ops):
        closed = r.step.closed
        if closed is not None and closed.reason is EndReason.POST_ROLL:
            assert released is not None and r.t >= released + cfg.post
        if r.op.kind == "packet" and r.op.key and due:
            assert closed is not None
        if r.op.kind == "tick" and r.before[0] is not P.IDLE and not r.before[1]:
            assert (closed is not None) == (r.op.n / 4 > cfg.post + SILENCE_GRACE_S)
        if r.after[0] is P.IDLE or r.after[1]:
            released, due = None, False
        elif r.before[1]:  # the last key was released
            released = r.t
        elif r.op.kind == "packet" and r.before[0] is P.POST_ROLL:
            due = released is not None and r.t >= released + cfg.post


@FAST
@given(OPS, CFGS)
def test_clips_end_on_keyframes_and_past_the_cap_at_the_next(ops: list[Op], cfg: Cfg) -> None:
    """A packet closes a clip only if it is a keyframe, which the clip does not take in; a
    packet at or past start + max_s leaves its clip ending (CLOSING or CAPPED), and an
    ending clip closes at the next keyframe: no clip runs on past its cap but to the end of
    that GOP (a continuation follows while held)."""
    start: float | None = None
    for r in _play(cfg, ops):
        if r.op.kind == "packet" and r.step.closed is not None:
            assert r.op.key and not r.step.append
        if r.op.kind == "packet" and r.op.key and r.before[0] in (P.CLOSING, P.CAPPED):
            assert r.step.closed is not None
        elif r.step.append and start is not None and r.t >= start + cfg.cap:
            assert r.after[0] in (P.CLOSING, P.CAPPED)
        if r.step.opened is not None:
            start = r.step.opened.start_t
        elif r.after[0] is P.IDLE:
            start = None


PLACES = st.tuples(st.integers(0, 400), st.sampled_from(KEYS), st.booleans())


@FAST
@given(st.integers(1, 4), st.integers(1, 20), st.lists(PLACES, max_size=40), CFGS)
def test_no_clip_is_longer_than_the_cap_and_a_gop(
    quarters: int, gop: int, inputs: list[tuple[int, str, bool]], cfg: Cfg
) -> None:
    """A regular stream (a packet every dt, a keyframe every gop packets), keys held and
    released between packets: every clip's packets lie within max_s + one GOP of its start;
    two GOPs if a hold cancelled a post-roll that was ending as the cap came."""
    ops = [Op("packet", "key" if i % gop == 0 else "", quarters) for i in range(400)]
    for at, key, hold in sorted(inputs, reverse=True):
        ops.insert(at, Op("hold" if hold else "release", key))
    spans: list[list[float]] = []  # start, last packet, GOPs allowed past the cap
    for r in _play(cfg, ops):
        if r.step.append:
            spans[-1][1] = r.t
        if r.step.opened is not None:
            spans.append([r.step.opened.start_t, r.t, 1])
        if r.op.kind == "hold" and r.before[0] is P.CLOSING:
            spans[-1][2] = 2
    for start, last, gops in spans:
        assert last - start < cfg.cap + gops * gop * quarters / 4


@FAST
@given(OPS, CFGS)
def test_each_hold_gets_a_clip_id_and_unknown_releases_change_nothing(
    ops: list[Op], cfg: Cfg
) -> None:
    """Every hold returns the open clip's id, a new one (triggered then, starting a pre-roll
    earlier) when it opened the clip; no id is used twice; a release of a key that holds
    nothing returns no id and changes nothing; a closed clip carries exactly the events of
    its holds and releases, and those of the clip it continues."""
    events: dict[str, set[str]] = {}
    for r in _play(cfg, ops):
        opened = r.step.opened
        if opened is not None:
            assert opened.clip_id not in events and opened.trigger_t == r.t
            assert opened.start_t == r.t - cfg.pre
            events[opened.clip_id] = set(events[r.before[2] or ""] if opened.continues else ())
        if r.op.kind == "release" and r.op.key not in r.before[1]:
            assert r.step == Step() and r.before == r.after
        elif r.op.kind in ("hold", "release"):
            assert r.step.clip_id is not None and r.step.clip_id == r.after[2]
            assert r.before[2] in (None, r.step.clip_id)
            events[r.step.clip_id].add(r.event)
        if r.step.closed is not None:
            assert r.step.closed.event_ids == events[r.step.closed.clip_id]
