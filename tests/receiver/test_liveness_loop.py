"""The receiver's systemd loop (``edge.receiver.liveness.run_until``) on its own: READY, a
ping every half watchdog interval while the writer moves, none while it is stuck, and the
names of dead threads returned at once."""

from __future__ import annotations

import threading

from timing import wait_until

from edge.receiver.liveness import run_until


class Recorder:
    """A notifier that keeps what it was sent (WATCHDOG_USEC of 0.2 s)."""

    watchdog_s = 0.2
    ping_interval = 0.1

    def __init__(self) -> None:
        self.sent: list[dict[str, str | int]] = []

    def notify(self, **fields: str | int) -> bool:
        """Record one message."""
        self.sent.append(fields)
        return True

    def pings(self) -> int:
        """WATCHDOG=1 messages so far."""
        return sum("WATCHDOG" in m for m in self.sent)


class FakeReceiver:
    """A receiver whose writer stall and dead threads the test sets."""

    def __init__(self) -> None:
        self.stalled = 0.0
        self.died: list[str] = []

    def dead(self) -> list[str]:
        """Threads that ended."""
        return list(self.died)

    def stalled_s(self) -> float:
        """Seconds since the writer moved."""
        return self.stalled


def _run(
    rx: FakeReceiver, n: Recorder, stop: threading.Event
) -> tuple[threading.Thread, list[list[str]]]:
    out: list[list[str]] = []
    t = threading.Thread(target=lambda: out.append(run_until(rx, stop, n)), daemon=True)
    t.start()
    return t, out


def test_pings_while_the_writer_moves_and_withholds_while_it_is_stuck() -> None:
    """READY first; pings every ping interval; a stall past the watchdog interval stops
    them, the writer moving again resumes them; a stop sends STOPPING and returns []."""
    rx, n, stop = FakeReceiver(), Recorder(), threading.Event()
    t, out = _run(rx, n, stop)
    assert wait_until(lambda: n.pings() >= 3, 5)
    assert n.sent[0]["READY"] == 1
    rx.stalled = 1.0
    before = n.pings()
    assert not wait_until(lambda: n.pings() > before + 1, 0.6)  # one may be on its way
    before = n.pings()
    rx.stalled = 0.0
    assert wait_until(lambda: n.pings() > before, 2)
    stop.set()
    t.join(5)
    assert out == [[]] and "STOPPING" in n.sent[-1]


def test_a_dead_thread_ends_the_loop_with_its_name() -> None:
    """A thread found dead: the loop returns its name at once (the caller exits 1) and tells
    systemd why in STATUS."""
    rx, n, stop = FakeReceiver(), Recorder(), threading.Event()
    t, out = _run(rx, n, stop)
    assert wait_until(lambda: n.pings() >= 1, 5)
    rx.died = ["receiver-writer: ended"]
    t.join(5)
    assert out == [["receiver-writer: ended"]]
    assert "receiver-writer" in str(n.sent[-1]["STATUS"])
