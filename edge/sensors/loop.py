"""The GPIO panel's own thread: pin edges recorded by gpiozero's callbacks, and the timers of
the inputs and sirens, handled in order on one thread.

gpiozero calls its callbacks on its own thread (one for every pin of the factory). Those
callbacks only *record* the edge (:meth:`PinLoop.record`: which input, its level, the
monotonic time; a few microseconds, never blocked by the disk) and return. The loop thread
takes the recorded edges in order and runs what they cause: the contact's state machine, the
event path (rules, clips, the siren, the outbox commit). A slow SD card therefore delays the
events, never the recording of the next edges, on this or any other pin.

Timers (a debounce re-read, a door left open, a siren's end) are deadlines kept here
(:meth:`PinLoop.at`), run on the same thread once their time has come: no
``threading.Timer`` per input or siren.

At most :data:`MAX_PENDING` edges wait; beyond that the oldest is dropped (counted in
:attr:`PinLoop.dropped`, logged ``gpio.edges_dropped``): a pin flapping faster than the event
path can follow is a faulty input, and the newest levels are what tell its state.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from edge.core.lifecycle import Worker, restart
from edge.core.logs import get_logger

log = get_logger(__name__)

MAX_PENDING = 100_000
"""Edges that may wait for the loop (10,000 edges at 1 kHz fit ten times over)."""

EdgeHandler = Callable[[bool, float], None]
"""Called on the loop thread with a recorded edge: (level, monotonic time it was seen)."""
TimerHandler = Callable[[float], None]
"""Called on the loop thread once a deadline has come, with the monotonic time now."""


@dataclass(frozen=True, slots=True)
class Edge:
    """One pin edge, as gpiozero's callback saw it."""

    handler: EdgeHandler
    level: bool
    at: float


class PinLoop(Worker):
    """One thread for a panel's edges and timers (a :class:`edge.core.lifecycle.Service`).

    A handler that raises is logged (``gpio.handler_failed``) and the loop goes on with the
    next edge; should the loop itself die, it is restarted (life safety: the GPIO must keep
    running). ``stop`` handles the edges already recorded, then ends the thread.
    """

    def __init__(self, name: str = "gpio", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, on_death=restart(), restart_pause_s=0.1)
        self.clock = clock
        self._cond = threading.Condition()
        self._edges: deque[Edge] = deque()
        self._timers: dict[object, tuple[float, TimerHandler]] = {}
        self.recorded = 0
        """Edges recorded by the callbacks."""
        self.handled = 0
        """Edges handled by the loop."""
        self.dropped = 0
        """Edges dropped because :data:`MAX_PENDING` were waiting."""
        self._started = False

    # -- from any thread ---------------------------------------------------------------------

    def record(self, handler: EdgeHandler, level: bool) -> None:
        """Record an edge (gpiozero's callback thread): returns at once."""
        at = self.clock()
        with self._cond:
            if len(self._edges) >= MAX_PENDING:
                self._edges.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.error("gpio.edges_dropped", loop=self.name, dropped=self.dropped)
            self._edges.append(Edge(handler, level, at))
            self.recorded += 1
            self._cond.notify()

    def at(self, key: object, when: float | None, handler: TimerHandler) -> None:
        """Call *handler* on the loop thread at monotonic time *when* (one deadline per
        *key*: a new one replaces it; None cancels it)."""
        with self._cond:
            if when is None:
                self._timers.pop(key, None)
            else:
                self._timers[key] = (when, handler)
            self._cond.notify()

    def cancel(self, key: object) -> None:
        """Cancel *key*'s deadline, if any."""
        with self._cond:
            self._timers.pop(key, None)

    @property
    def pending(self) -> int:
        """Edges recorded and not yet handled."""
        with self._cond:
            return len(self._edges)

    def settle(self, timeout: float) -> bool:
        """Wait until every edge recorded so far was handled; True when it was in *timeout*
        (False at once when the loop is not running)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self.recorded
            while self.handled < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._started or not any(t.is_alive() for t in self.threads):
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def start(self) -> None:
        """Start the loop thread (once; later calls do nothing)."""
        with self._cond:
            if self._started:
                return
            self._started = True
        self.spawn(self._run, self.name)

    def _stopping(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- the loop thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._edges and not self.stopping.is_set():
                    due = min((w for w, _ in self._timers.values()), default=None)
                    wait = None if due is None else due - self.clock()
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                edges = list(self._edges)
                self._edges.clear()
            for edge in edges:
                self._call(edge.handler, edge.level, edge.at)
                with self._cond:
                    self.handled += 1
                    self._cond.notify_all()
            if self.stopping.is_set():
                with self._cond:
                    if not self._edges:
                        return  # what was recorded before stop is handled; timers are not
                continue
            self._run_timers()

    def _run_timers(self) -> None:
        now = self.clock()
        with self._cond:
            due = [(k, h) for k, (w, h) in self._timers.items() if w <= now]
            for key, _ in due:
                del self._timers[key]
        for _, handler in due:
            self._call(handler, now)

    def _call(self, handler: Callable[..., None], *args: object) -> None:
        try:
            handler(*args)
        except Exception:  # one bad edge or timer must not stop the panel
            log.exception("gpio.handler_failed", loop=self.name)
