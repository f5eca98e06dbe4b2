"""Helpers of the receiver's systemd tests: a NOTIFY_SOCKET the test listens on (as systemd
would) and ``edge receive`` started as its own process, optionally with a fault injected
into it before it runs (a thread made to die)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class NotifySocket:
    """A datagram socket recording every sd_notify message, with when it came."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def since(self, t: float) -> list[str]:
        """Messages received after monotonic time *t*."""
        return [m for at, m in list(self.messages) if at > t]

    def pings(self, since: float = 0.0) -> int:
        """``WATCHDOG=1`` messages after *since*."""
        return sum("WATCHDOG=1" in m for m in self.since(since))

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def launch(
    conf: Path,
    log: Path,
    *,
    inject: str = "",
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``edge receive --config CONF [EXTRA...]`` as its own process, output to *log*;
    *inject* is Python run in it first (patching a part to fail)."""
    argv = ["receive", "--config", str(conf), *extra]
    code = f"{inject}\nimport sys\nfrom edge.cli.main import main\nsys.exit(main({argv!r}))\n"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )


def wait_log(
    log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 30, since: int = 0
) -> None:
    """Wait until *text* is in *log* after byte *since* (the process must not exit
    meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text.encode() in log.read_bytes()[since:]:
            return
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {log.read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in {timeout} s: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM (then SIGKILL); the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return int(proc.returncode)
