"""What each signal does to ``edge run``: no signal a person or a tool may send kills the node
without a clean stop.

* SIGTERM, SIGINT and every other signal whose default would end the process (SIGQUIT,
  SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, the real-time
  signals) stop the node cleanly: cameras first, sirens off, last clips and queued messages
  sent within the stop budget, ``offline`` said, exit 0. Each is logged (``node.signal``).
* SIGHUP is ignored and logged (``node.signal_ignored``): the node does not reload its
  config while running (a half-applied config would be worse than the old one); apply a
  change with ``systemctl restart warehouse-edge``, which checks it first.
* SIGUSR1 silences the sirens (as the reset key does).
* SIGPIPE and SIGXFSZ stay ignored (Python's defaults: the failing write raises instead);
  faults the kernel raises in the process itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
  SIGSYS, SIGTRAP) keep their defaults: the process cannot go on, systemd restarts it.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType

from edge.core.lifecycle import Worker, restart
from edge.core.logs import get_logger

log = get_logger(__name__)

_NAMED_STOPS = (
    "SIGTERM", "SIGINT", "SIGQUIT", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO",
    "SIGPWR", "SIGSTKFLT", "SIGXCPU",
)  # fmt: skip


def stop_signals() -> list[signal.Signals]:
    """The signals that stop the node cleanly on this platform."""
    named = [getattr(signal, n) for n in _NAMED_STOPS if hasattr(signal, n)]
    realtime: list[signal.Signals] = []
    low, high = getattr(signal, "SIGRTMIN", None), getattr(signal, "SIGRTMAX", None)
    if low is not None and high is not None:
        valid = signal.valid_signals()
        realtime = [s for s in valid if isinstance(s, int) and low <= s <= high]
    return list(dict.fromkeys([*named, *realtime]))


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


class SignalDesk:
    """Signals, handled: the handlers only queue the signal (a handler runs between two
    bytecodes of the main thread, maybe in the middle of a log write, so it must not log or
    take a lock); one thread acts on them and logs them."""

    def __init__(self, stop: threading.Event, silence: Callable[[], object]) -> None:
        self.stop = stop
        self.silence = silence
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()  # put() is reentrant
        self._stops = set(stop_signals())
        self.worker = Worker("signals", on_death=restart())
        """Owns the desk's thread (the desk must outlive anything: a death restarts it)."""

    def install(self) -> SignalDesk:
        """Install the handlers (main thread only) and start the thread; returns self."""
        self.worker.spawn(self._run, "signals")
        for sig in self._stops | {signal.SIGHUP, signal.SIGUSR1}:
            signal.signal(sig, self._queued)
        return self

    def _queued(self, signum: int, _frame: FrameType | None) -> None:
        self._queue.put(signum)

    def _run(self) -> None:
        while True:
            signum = self._queue.get()
            try:
                self.handle(signum)
            except Exception:  # the desk must outlive a failing action
                log.exception("node.signal_failed", signal=_name(signum))

    def handle(self, signum: int) -> None:
        """Act on *signum* (the desk's thread calls this)."""
        if signum == signal.SIGHUP:
            log.warning(
                "node.signal_ignored",
                signal=_name(signum),
                note="the config is not reloaded while running: systemctl restart warehouse-edge",
            )
        elif signum == signal.SIGUSR1:
            log.info("node.signal", signal=_name(signum), action="silence sirens")
            self.silence()
        else:
            log.info("node.signal", signal=_name(signum), action="stop")
            self.stop.set()
