"""What a dry-contact input reports, as a pure state machine driven by the caller's clock.

No gpiozero, no threads, no timers, no wall clock: the caller passes the time (monotonic
seconds) and the pin's level read at that moment, and gets back what happened, as
:class:`Output` records. :class:`edge.sensors.contacts.ContactInput` feeds it from gpiozero
callbacks and one ``threading.Timer`` set for :meth:`ContactMachine.due`.

The rules:

* Leading-edge debounce: a change is reported at once (alarms must not wait for a debounce
  timer); further edges within ``debounce_s`` are contact bounce, and the pin is re-read
  when that time has passed.
* Flapping: more than ``flap_changes`` raw edges within ``flap_window_s`` mean a faulty
  input: one fault START (at most one per ``fault_holdoff_s``), silence until the input has
  been quiet for ``flap_window_s``, then fault END and the settled state.
* A door reported active for ``left_open_s`` is left open, until it is reported inactive.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from edge.config.sensors import SensorConfig


class Change(StrEnum):
    """What an :class:`Output` says happened."""

    ACTIVE = "active"
    """The reported state became active (door open, smoke, tamper, presence, key turned)."""
    INACTIVE = "inactive"
    """The reported state became inactive; ``seconds``: how long it was active."""
    LEFT_OPEN_START = "left_open_start"
    """A door has been reported active for ``left_open_s``."""
    LEFT_OPEN_END = "left_open_end"
    """A door left open is reported inactive; ``seconds``: how long it was open."""
    FLAPPING = "flapping"
    """Too many raw edges: ``edges`` within the flap window. Logged; a fault may follow."""
    FAULT_START = "fault_start"
    """The flapping is a fault (not held off by ``fault_holdoff_s``); ``edges`` as above."""
    STEADY = "steady"
    """A flapping input has been quiet for the flap window. Logged."""
    FAULT_END = "fault_end"
    """The fault started for this flapping episode is over."""


EVENT_CHANGES = frozenset(Change) - {Change.FLAPPING, Change.STEADY}
"""Changes that become events (for a door, smoke, tamper or PIR input; a reset key's state
changes silence the sirens instead); the others are only logged."""


@dataclass(frozen=True, slots=True)
class Output:
    """One thing that happened at time ``at`` (the ``now`` of the call that produced it)."""

    change: Change
    at: float
    edges: int = 0
    """FLAPPING, FAULT_START: raw edges within the flap window."""
    seconds: float = 0.0
    """INACTIVE: time it was active; LEFT_OPEN_END: time it was open (unrounded)."""


class ContactMachine:
    """Debounce, flapping and left-open logic of one contact input.

    Call :meth:`start` once with the pin's level, :meth:`edge` for every raw edge, and
    :meth:`tick` when the time given by :meth:`due` has come (calling it early or more often
    is harmless: only what is due at ``now`` is done). ``now`` must never go backwards.
    """

    def __init__(
        self,
        *,
        debounce_s: float,
        flap_changes: int,
        flap_window_s: float,
        fault_holdoff_s: float,
        left_open_s: float | None = None,
    ) -> None:
        """*left_open_s*: None for inputs that are not doors (no left-open)."""
        self.debounce_s = debounce_s
        self.flap_changes = flap_changes
        self.flap_window_s = flap_window_s
        self.fault_holdoff_s = fault_holdoff_s
        self.left_open_s = left_open_s
        self.reported = False
        """The state last reported (what the rest of the node believes)."""
        self.flapping = False
        self.edges = 0
        """Raw edges seen (bounce and flapping included)."""
        self.changes = 0
        """State changes reported."""
        self.faults = 0
        """Fault STARTs reported."""
        self._since = 0.0
        self._lockout_until = 0.0
        self._recent: deque[float] = deque()
        self._last_edge = 0.0
        self._last_fault: float | None = None
        self._fault_open = False
        self._recheck_at: float | None = None
        self._left_open_at: float | None = None
        self._left_open = False

    @classmethod
    def from_config(cls, cfg: SensorConfig) -> ContactMachine:
        """The machine for one configured sensor (left-open for doors only)."""
        return cls(
            debounce_s=cfg.debounce_s,
            flap_changes=cfg.flap_changes,
            flap_window_s=cfg.flap_window_s,
            fault_holdoff_s=cfg.fault_holdoff_s,
            left_open_s=cfg.left_open_s if cfg.kind == "door" else None,
        )

    def due(self) -> float | None:
        """When :meth:`tick` must next be called; None while nothing is pending."""
        pending = [t for t in (self._recheck_at, self._left_open_at) if t is not None]
        return min(pending, default=None)

    def start(self, now: float, active: bool) -> list[Output]:
        """Watching begins; an input already *active* is reported at once."""
        return self._apply(active, now)

    def edge(self, now: float, active: bool) -> list[Output]:
        """A raw edge at *now*; *active*: the pin's level read at that moment."""
        self.edges += 1
        self._last_edge = now
        self._recent.append(now)
        while self._recent and now - self._recent[0] > self.flap_window_s:
            self._recent.popleft()
        if self.flapping:
            return []
        if len(self._recent) > self.flap_changes:
            return self._start_flapping(now)
        if now < self._lockout_until:
            self._schedule(self._lockout_until)  # bounce: look again afterwards
            return []
        out = self._apply(active, now)
        self._lockout_until = now + self.debounce_s
        return out

    def tick(self, now: float, active: bool) -> list[Output]:
        """Do what is due at *now* (earliest first); *active*: the pin's level now."""
        out: list[Output] = []
        while (at := self.due()) is not None and at <= now:
            if at == self._left_open_at:
                out += self._door_left_open(now)
            else:
                out += self._look_again(now, active)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _schedule(self, at: float) -> None:
        if self._recheck_at is None:  # one look-again at a time; a pending one stands
            self._recheck_at = at

    def _look_again(self, now: float, active: bool) -> list[Output]:
        self._recheck_at = None
        out: list[Output] = []
        if self.flapping:
            quiet_at = self._last_edge + self.flap_window_s
            if now < quiet_at:
                self._schedule(quiet_at)
                return out
            out += self._stop_flapping(now)
        return out + self._apply(active, now)

    def _start_flapping(self, now: float) -> list[Output]:
        self.flapping = True
        edges = len(self._recent)
        out = [Output(Change.FLAPPING, now, edges=edges)]
        if self._last_fault is None or now - self._last_fault >= self.fault_holdoff_s:
            self._last_fault = now
            self.faults += 1
            self._fault_open = True
            out.append(Output(Change.FAULT_START, now, edges=edges))
        self._schedule(now + self.flap_window_s)
        return out

    def _stop_flapping(self, now: float) -> list[Output]:
        self.flapping = False
        self._recent.clear()
        out = [Output(Change.STEADY, now)]
        if self._fault_open:
            self._fault_open = False
            out.append(Output(Change.FAULT_END, now))
        return out

    def _apply(self, active: bool, now: float) -> list[Output]:
        if active == self.reported:
            return []
        self.reported = active
        self.changes += 1
        if active:
            self._since = now
            if self.left_open_s is not None:
                self._left_open_at = now + self.left_open_s
            return [Output(Change.ACTIVE, now)]
        out = [Output(Change.INACTIVE, now, seconds=now - self._since)]
        self._left_open_at = None
        if self._left_open:
            self._left_open = False
            out.append(Output(Change.LEFT_OPEN_END, now, seconds=now - self._since))
        return out

    def _door_left_open(self, now: float) -> list[Output]:
        self._left_open_at = None
        if not self.reported or self._left_open:
            return []
        self._left_open = True
        return [Output(Change.LEFT_OPEN_START, now)]
