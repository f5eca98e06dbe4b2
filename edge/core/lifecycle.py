"""One lifecycle for everything that owns a thread: start, stop, join, health.

A :class:`Worker` owns its threads through :meth:`Worker.spawn`; ``stop`` asks them to end
(and calls the subclass's ``_stopping`` hook to unblock them), ``join`` waits with a deadline.
The node starts its services in one explicit order and stops them in the reverse order
(:class:`edge.node.lifecycle.Lifecycle`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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


class Worker:
    """Base for a service that owns threads. Subclasses call :meth:`spawn` from ``start`` and
    watch :attr:`stopping` (or wait on it) in their loops."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self.rounds: int | None = None
        """Rounds of the main loop of a worker whose loop must keep turning (the housekeeper
        sets it to 0 and counts with :meth:`went_round`): liveness calls the worker stalled
        when the count stops moving. None for workers that wait on input (links, cameras)."""

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` was called."""
        return self._stop_event

    def spawn(self, target: Callable[..., object], name: str, *args: object) -> threading.Thread:
        """Start a daemon thread owned by this worker."""
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()
        return t

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
        """Alive while every thread started runs (or the worker was asked to stop)."""
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead and not self._stop_event.is_set():
            return ServiceHealth(self.name, False, "thread ended: " + ", ".join(dead))
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
