"""When a clip opens, stays open and closes: a pure, clock-driven state machine.

The clip recorder (``edge.clips.recorder``) owns the packets, the pre-roll ring and the
encoder; this module owns every decision about the clip's life. It sees only times, activity
keys and whether a packet is a keyframe: no codec, no thread, no clock of its own.

States (:class:`Phase`) and transitions (a packet's time is *t*)::

    IDLE       hold                                  -> HELD       opens a clip
    HELD       hold; release, another key holds      -> HELD
    HELD       release of the last key               -> POST_ROLL  post-roll starts
    HELD       packet, t >= start + max_s            -> CAPPED
    POST_ROLL  hold                                  -> HELD       post-roll cancelled
    POST_ROLL  packet, t >= released + post_roll_s   -> CLOSING    (checked first)
    POST_ROLL  packet, t >= start + max_s            -> CAPPED
    CLOSING    hold                                  -> HELD       post-roll cancelled
    CLOSING    keyframe                              -> IDLE       closed: post_roll
    CAPPED     hold; release                         -> CAPPED     keys still tracked
    CAPPED     keyframe, some key holds              -> HELD       closed: cap; continuation
    CAPPED     keyframe, nothing holds               -> IDLE       closed: cap
    any open   tick, input silent too long           -> IDLE       closed: input_silent
    any open   stop                                  -> IDLE       closed: shutdown, restart

CLOSING and CAPPED end the clip at the next keyframe, on a GOP boundary, so every frame the
clip shows is complete; the keyframe itself is not in the ending clip (a continuation starts
from it). Every other packet that arrives while a clip is open belongs to it.

Times are one clock chosen by the caller (capture time for live cameras, stream time for
replayed files); :meth:`ClipHold.tick` takes how long the input has been silent, measured on
whatever clock the caller keeps for that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

from edge.core.ids import new_id

#: Seconds of input silence, beyond the post-roll, after which an unheld clip is given up.
SILENCE_GRACE_S = 5.0


class Phase(Enum):
    """Where the clip being cut is in its life."""

    IDLE = "idle"
    """No clip is open."""
    HELD = "held"
    """A clip is open and at least one activity key holds it."""
    POST_ROLL = "post_roll"
    """Nothing holds the open clip; its post-roll runs from the last release."""
    CLOSING = "closing"
    """The post-roll has passed: the clip closes at the next keyframe unless held again."""
    CAPPED = "capped"
    """The clip reached its longest: it closes at the next keyframe, continued if held."""


class EndReason(StrEnum):
    """Why a clip was closed (``ClipJob.reason``)."""

    POST_ROLL = "post_roll"
    CAP = "cap"
    INPUT_SILENT = "input_silent"
    SHUTDOWN = "shutdown"
    STREAM_RESTART = "stream_restart"


@dataclass(frozen=True)
class ClipOpened:
    """A clip opened: cut it from the pre-roll before *trigger_t*."""

    clip_id: str
    trigger_t: float
    start_t: float
    """Time of the clip's first (pre-roll) packet, from which its length is counted."""
    continues: str | None = None
    """The capped clip this one continues (None: opened by a hold)."""


@dataclass(frozen=True)
class ClipClosed:
    """A clip closed: hand it to the finaliser."""

    clip_id: str
    reason: EndReason
    trigger_t: float
    start_t: float
    event_ids: frozenset[str]


@dataclass(frozen=True)
class Step:
    """What the caller must do after one input, in order: append the packet to the open
    clip, hand over the closed clip, start cutting the opened one."""

    clip_id: str | None = None
    """The clip the input concerned: held or released (what ``hold``/``release`` return),
    or the one the packet was appended to. None: the input changed nothing."""
    append: bool = False
    """The packet belongs to the open clip."""
    closed: ClipClosed | None = None
    opened: ClipOpened | None = None


@dataclass
class _Clip:
    clip_id: str
    trigger_t: float
    start_t: float
    holds: set[str]
    event_ids: set[str]
    released_t: float | None = None


class ClipHold:
    """The life of one camera's clips: opened by holds, kept open while held, closed after
    the post-roll or at the cap (continued while still held), all on a GOP boundary.

    *start_of* maps a trigger time to the time of the clip's first packet (where its
    pre-roll really starts, keyframe-aligned); clip length is counted from there.
    """

    def __init__(
        self,
        post_roll_s: float,
        max_s: float,
        *,
        start_of: Callable[[float], float] | None = None,
        make_id: Callable[[], str] = new_id,
    ) -> None:
        if post_roll_s < 0:
            raise ValueError(f"post-roll must be >= 0, got {post_roll_s}")
        if max_s <= 0:
            raise ValueError(f"longest clip must be > 0, got {max_s}")
        self.post_roll_s = post_roll_s
        self.max_s = max_s
        self._start_of: Callable[[float], float] = start_of or (lambda t: t)
        self._make_id = make_id
        self._phase = Phase.IDLE
        self._clip: _Clip | None = None

    # -- what it looks like now -------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """The current state."""
        return self._phase

    @property
    def clip_id(self) -> str | None:
        """The open clip's id (None: idle)."""
        return self._clip.clip_id if self._clip else None

    @property
    def holds(self) -> frozenset[str]:
        """Activity keys holding the open clip."""
        return frozenset(self._clip.holds) if self._clip else frozenset()

    @property
    def event_ids(self) -> frozenset[str]:
        """Events recorded on the open clip so far."""
        return frozenset(self._clip.event_ids) if self._clip else frozenset()

    @property
    def start_t(self) -> float | None:
        """Time of the open clip's first packet (None: idle)."""
        return self._clip.start_t if self._clip else None

    @property
    def released_t(self) -> float | None:
        """When the last hold was released (None: idle, or held since)."""
        return self._clip.released_t if self._clip else None

    # -- activity ---------------------------------------------------------------------------

    def hold(self, key: str, event_id: str, t: float) -> Step:
        """Activity *key* (of event *event_id*) holds the clip at *t*: opens one when idle,
        cancels a running post-roll. ``clip_id`` of the result is the held clip."""
        c = self._clip
        if c is None:
            opened = self._open(t, {key}, {event_id})
            return Step(clip_id=opened.clip_id, opened=opened)
        c.holds.add(key)
        c.event_ids.add(event_id)
        c.released_t = None
        if self._phase in (Phase.POST_ROLL, Phase.CLOSING):
            self._phase = Phase.HELD  # new activity: keep going
        return Step(clip_id=c.clip_id)

    def release(self, key: str, event_id: str | None, t: float) -> Step:
        """Activity *key* ended at *t*; the post-roll starts when nothing holds the clip.
        A key that holds nothing changes nothing (``clip_id`` None)."""
        c = self._clip
        if c is None or key not in c.holds:
            return Step()
        c.holds.discard(key)
        if event_id:
            c.event_ids.add(event_id)
        if not c.holds:
            c.released_t = t
            if self._phase is Phase.HELD:
                self._phase = Phase.POST_ROLL
        return Step(clip_id=c.clip_id)

    # -- the clock --------------------------------------------------------------------------

    def packet(self, t: float, keyframe: bool) -> Step:
        """A packet at time *t* arrived (already in the caller's pre-roll ring). A clip due
        to end ends at a keyframe, which then opens the continuation of a held capped clip;
        any other packet joins the open clip, and may make it due to end."""
        c = self._clip
        if c is None:
            return Step()
        if keyframe and self._phase in (Phase.CLOSING, Phase.CAPPED):
            # end on a GOP boundary: every frame shown is in the clip, no gaps at the end
            capped = self._phase is Phase.CAPPED
            holds, events = set(c.holds), set(c.event_ids)
            closed = self._close(EndReason.CAP if capped else EndReason.POST_ROLL)
            if capped and holds:  # activity goes on: continue in a new clip
                return Step(closed=closed, opened=self._open(t, holds, events, closed.clip_id))
            return Step(closed=closed)
        if (
            self._phase is Phase.POST_ROLL
            and c.released_t is not None
            and t >= c.released_t + self.post_roll_s
        ):
            self._phase = Phase.CLOSING
        elif self._phase in (Phase.HELD, Phase.POST_ROLL) and t - c.start_t >= self.max_s:
            self._phase = Phase.CAPPED
        return Step(clip_id=c.clip_id, append=True)

    def tick(self, silent_s: float) -> Step:
        """The input has sent nothing for *silent_s* seconds: give up on an unheld clip once
        that exceeds the post-roll plus :data:`SILENCE_GRACE_S`, on a held one once it also
        exceeds the longest clip (camera gone)."""
        c = self._clip
        if c is None:
            return Step()
        if silent_s > self.post_roll_s + SILENCE_GRACE_S and (not c.holds or silent_s > self.max_s):
            return Step(closed=self._close(EndReason.INPUT_SILENT))
        return Step()

    def stop(self, reason: EndReason) -> Step:
        """Close the open clip now, whatever holds it (shutdown, stream restart)."""
        if self._clip is None:
            return Step()
        return Step(closed=self._close(reason))

    # -- internals --------------------------------------------------------------------------

    def _open(
        self, t: float, holds: set[str], events: set[str], continues: str | None = None
    ) -> ClipOpened:
        c = _Clip(self._make_id(), t, self._start_of(t), set(holds), events)
        self._clip, self._phase = c, Phase.HELD
        return ClipOpened(c.clip_id, t, c.start_t, continues)

    def _close(self, reason: EndReason) -> ClipClosed:
        c = self._clip
        assert c is not None
        self._clip, self._phase = None, Phase.IDLE
        return ClipClosed(c.clip_id, reason, c.trigger_t, c.start_t, frozenset(c.event_ids))
