"""One lifecycle for everything that owns a thread: start, stop, join, health.

A :class:`Worker` owns its threads through :meth:`Worker.spawn` (the one way to start a
thread in this package, node and receiver alike); ``stop`` asks them to end (and calls the
subclass's ``_stopping`` hook to unblock them), ``join`` waits with a deadline. A thread
whose target raises is never lost silently: it is logged ``thread.died`` with its traceback,
kept as :attr:`Worker.last_error` (``health`` says so), and its owner's policy
(:data:`OnDeath`, given to the worker or to one ``spawn``) decides what happens next:
:data:`Verdict.RESTART` runs the target again in the same thread after a pause,
:data:`Verdict.END` lets the thread end with its exception (``health`` reports it dead;
``threading.excepthook`` still sees it; an owner that cannot live without the thread stops
the process from its policy). The node starts its services in one
explicit order and stops them in the reverse order (:class:`edge.node.lifecycle.Lifecycle`).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from edge.core.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """Whether a service's threads are running, and what is wrong if not."""

    name: str
    alive: bool
    detail: str = ""


@runtime_checkable
class Service(Protocol):
    """Anything the node starts and stops."""

    name: str

    def start(self) -> None:
        """Start the service's threads; returns at once."""

    def stop(self) -> None:
        """Ask the service to stop; returns at once (``join`` waits)."""

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the service's threads ended; True when they did within *timeout*."""

    def health(self) -> ServiceHealth:
        """Whether the service is running as it should."""


class Verdict(StrEnum):
    """What the owner of a thread that died wants done."""

    RESTART = "restart"
    """Run the thread's target again (same thread) after the policy's pause."""
    END = "end"
    """Let the thread end: ``health`` reports it dead; the owner decides about the process."""


@dataclass(frozen=True, slots=True)
class Death:
    """A worker's thread whose target raised."""

    worker: str
    thread: str
    error: BaseException
    traceback: str
    deaths: int
    """How many times this thread's target raised so far (1 the first time)."""


OnDeath = Callable[[Death], Verdict]
"""The owner's policy for a thread that died (called on that thread, after ``thread.died``
was logged); it may also act (stop the process, raise an alarm) before it answers."""


def report(_death: Death) -> Verdict:
    """The default policy: the thread ends; ``health`` reports it (the watchdog sees it)."""
    return Verdict.END


def restart(max_deaths: int | None = None) -> OnDeath:
    """A policy: restart the thread, at most *max_deaths* times (None: always)."""

    def policy(death: Death) -> Verdict:
        if max_deaths is not None and death.deaths > max_deaths:
            return Verdict.END
        return Verdict.RESTART

    return policy


def end_process(stop: Callable[[], object]) -> OnDeath:
    """A policy for a thread the process cannot live without: call *stop* (e.g. set the
    process's stop event, so it exits and systemd restarts it) and let the thread end."""

    def policy(death: Death) -> Verdict:
        log.error("thread.ends_process", worker=death.worker, thread=death.thread)
        stop()
        return Verdict.END

    return policy


class Worker:
    """Base for a service that owns threads. Subclasses call :meth:`spawn` from ``start`` and
    watch :attr:`stopping` (or wait on it) in their loops. *on_death*: the owner's policy for
    a thread that raises (default :func:`report`); *restart_pause_s*: the pause before a
    restart (the worker's stop ends it)."""

    def __init__(
        self,
        name: str,
        *,
        on_death: OnDeath | None = None,
        restart_pause_s: float = 1.0,
    ) -> None:
        self.name = name
        self._stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self.on_death: OnDeath = on_death or report
        self.restart_pause_s = restart_pause_s
        self.last_error: str | None = None
        """The last error a thread of this worker died of (``Type: message``), None if none."""
        self.deaths = 0
        """How many times a thread of this worker died (restarted or not)."""
        self.rounds: int | None = None
        """Rounds of the main loop of a worker whose loop must keep turning (the housekeeper
        sets it to 0 and counts with :meth:`went_round`): liveness calls the worker stalled
        when the count stops moving. None for workers that wait on input (links, cameras)."""

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` was called."""
        return self._stop_event

    def spawn(
        self,
        target: Callable[..., object],
        name: str,
        *args: object,
        on_death: OnDeath | None = None,
    ) -> threading.Thread:
        """Start a daemon thread owned by this worker, running ``target(*args)``; when it
        raises, *on_death* (default: the worker's policy) decides (see :class:`Verdict`)."""
        policy = on_death or self.on_death
        t = threading.Thread(target=self._guard, args=(target, name, policy, args), name=name)
        t.daemon = True
        self._threads.append(t)
        t.start()
        return t

    def _guard(
        self,
        target: Callable[..., object],
        name: str,
        policy: OnDeath,
        args: tuple[object, ...],
    ) -> None:
        deaths = 0
        while True:
            try:
                target(*args)
                return
            except BaseException as e:  # SystemExit too: Python ends a thread on it silently
                deaths += 1
                self.deaths += 1
                self.last_error = f"{type(e).__name__}: {e}"
                tb = traceback.format_exc()
                log.error(
                    "thread.died",
                    worker=self.name,
                    thread=name,
                    error=self.last_error,
                    deaths=deaths,
                    traceback=tb,
                )
                verdict = self._decide(policy, Death(self.name, name, e, tb, deaths))
                if verdict is not Verdict.RESTART:
                    raise  # as before: threading.excepthook sees it too (tests fail on it)
                if self._stop_event.is_set():
                    return
                if self._stop_event.wait(self.restart_pause_s):
                    return
                log.warning("thread.restarted", worker=self.name, thread=name, deaths=deaths)

    def _decide(self, policy: OnDeath, death: Death) -> Verdict:
        try:
            return policy(death)
        except Exception:  # a broken policy: the thread ends, health says so
            log.exception("thread.policy_failed", worker=self.name, thread=death.thread)
            return Verdict.END

    def went_round(self) -> None:
        """Count one round of a paced main loop (see :attr:`rounds`); one thread calls it."""
        self.rounds = (self.rounds or 0) + 1

    def start(self) -> None:
        """Start the worker's threads (subclasses override and call :meth:`spawn`)."""

    def stop(self) -> None:
        """Ask every thread to end; returns at once."""
        self._stop_event.set()
        self._stopping()

    def shutdown(self, timeout: float | None = 5.0) -> bool:
        """Stop and wait: True when every thread ended within *timeout*."""
        self.stop()
        return self.join(timeout)

    def _stopping(self) -> None:
        """Hook: unblock threads waiting on something other than :attr:`stopping`."""

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every thread; True when all ended within *timeout*."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The threads this worker started."""
        return tuple(self._threads)

    def health(self) -> ServiceHealth:
        """Alive while every thread started runs (or the worker was asked to stop); the
        detail names the threads that ended and the last error a thread died of."""
        dead = [t.name for t in self._threads if not t.is_alive()]
        error = f" (last error: {self.last_error})" if self.last_error else ""
        if dead and not self._stop_event.is_set():
            return ServiceHealth(self.name, False, "thread ended: " + ", ".join(dead) + error)
        if self.last_error and not self._stop_event.is_set():
            return ServiceHealth(self.name, True, f"restarted {self.deaths}x{error}")
        return ServiceHealth(self.name, True)


class Hooks:
    """A service made of two calls, for parts that own no long-running thread (pins, timers,
    a recorder's close): ``start`` and ``stop`` run them; there is nothing to join."""

    def __init__(
        self,
        name: str,
        start: Callable[[], object] | None = None,
        stop: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self._start = start
        self._stop = stop

    def start(self) -> None:
        """Run the start hook."""
        if self._start is not None:
            self._start()

    def stop(self) -> None:
        """Run the stop hook."""
        if self._stop is not None:
            self._stop()

    def join(self, timeout: float | None = None) -> bool:
        """Nothing to wait for."""
        return True

    def health(self) -> ServiceHealth:
        """Always alive (it has no thread to lose)."""
        return ServiceHealth(self.name, True)
