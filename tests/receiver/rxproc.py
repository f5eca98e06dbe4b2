"""A receiver as its own process (``python -m edge receive``), for crash tests: started,
SIGKILLed and started again by PID, its log kept for the failure message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from edge.bench.fleet import Publisher, SimNode, Wire


class RxProcess:
    """One ``edge receive --config CONF`` process at a time."""

    def __init__(self, conf: Path, log: Path) -> None:
        self.conf, self.log = conf, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30.0, ready: bytes = b"receiver.subscribed") -> None:
        """Start it and wait until it logged *ready* (its subscription; a standby:
        ``receiver.standby``)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "receive", "--config", str(self.conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"receiver exited {self.proc.returncode}: {self.tail()}")
            with self.log.open("rb") as f:
                f.seek(offset)
                if ready in f.read():
                    return
            time.sleep(0.05)
        raise AssertionError(f"receiver did not log {ready!r} in {timeout} s: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (then SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def stream(pub: Publisher, items: list[tuple[SimNode, Wire]], rate: float) -> threading.Thread:
    """Publish *items* at *rate* per second on a thread (started); join it to wait."""

    def run() -> None:
        start = time.monotonic()
        for i, (node, wire) in enumerate(items):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pub.publish(node, wire)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
