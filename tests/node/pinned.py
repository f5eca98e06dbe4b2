"""A real `edge run` process on mock pins (tests/node/pinned_run.py) for the life-safety and
signal tests: the test drives its smoke input, watches its siren pin, reads what it told
systemd (``$NOTIFY_SOCKET``) and its JSON log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from nodecfg import node_config, sensor, tls_destination
from timing import wait_until

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA

RUNNER = Path(__file__).with_name("pinned_run.py")
SMOKE, SIREN, LAMP = 22, 24, 25

OUTPUTS = f"""
[logging]
format = "json"
[health]
interval_s = 5
[[outputs]]
name = "siren"
kind = "siren"
pin = {SIREN}
kinds = ["smoke"]
duration_s = 120
[[outputs]]
name = "lamp"
kind = "status_led"
pin = {LAMP}
"""


def smoke_node(
    data: Path,
    node_id: str,
    broker: LocalBroker,
    ca: DemoCA,
    cert: CertPair,
    *,
    site: str = "safe",
    destinations: Sequence[str] = (),
    cameras: Sequence[str] = (),
) -> str:
    """A node with a smoke detector (pin 22), a siren for smoke (24), a lamp (25), JSON logs,
    the police destination on *broker* and any further *destinations*."""
    return node_config(
        data,
        node_id,
        site,
        mock_gpio=True,  # the runner puts its own mock pins in place of gpiozero's
        extra=OUTPUTS,
        cameras=cameras,
        sensors=[sensor("smoke", "smoke", pin=SMOKE, debounce_s=0)],
        destinations=[tls_destination(broker, ca, cert), *destinations],
    )


class PinnedNode:
    """`edge run CONFIG` on mock pins; its stderr (JSON log) in ``CONFIG.log``."""

    def __init__(self, config: Path, *, wedge: bool = False) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self.wedge = wedge
        self.proc: subprocess.Popen[str] | None = None
        self.pins: dict[int, list[tuple[float, int]]] = {}
        """Pin -> (Unix time, state) for every change seen."""
        self.notices: list[str] = []
        """What the node told systemd, one datagram each."""
        self._sock: socket.socket | None = None
        self._err: IO[bytes] | None = None

    def start(self) -> PinnedNode:
        """Start the process (again after :meth:`kill` or a stop)."""
        path = self.config.with_name(f"notify-{os.getpid()}-{len(self.notices)}.sock")
        path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._err = self.log.open("ab")
        argv = [sys.executable, str(RUNNER), str(self.config), "--watch", f"{SIREN},{LAMP}"]
        argv += ["--wedge"] if self.wedge else []
        env = {**os.environ, "NOTIFY_SOCKET": str(path)}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, text=True, env=env)  # fmt: skip
        threading.Thread(target=self._read_pins, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._read_notices, args=(self._sock,), daemon=True).start()
        return self

    def _read_pins(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            words = line.split()
            if len(words) == 3 and words[0] == "pin":
                self.pins.setdefault(int(words[1]), []).append((time.time(), int(words[2])))

    def _read_notices(self, sock: socket.socket) -> None:
        while True:
            try:
                self.notices.append(sock.recv(4096).decode())
            except OSError:
                return

    def drive(self, pin: int, trip: bool) -> float:
        """Trip the sensor at *pin* (or bring it back to rest); returns when it was asked."""
        assert self.proc is not None and self.proc.stdin is not None
        at = time.time()
        self.proc.stdin.write(f"{'trip' if trip else 'rest'} {pin}\n")
        self.proc.stdin.flush()
        return at

    def smoke(self) -> float:
        """The smoke detector trips; returns when."""
        return self.drive(SMOKE, True)

    def on_since(self, pin: int, since: float) -> float | None:
        """When *pin* went on at or after *since* (None: it did not)."""
        return next((t for t, s in self.pins.get(pin, []) if s and t >= since), None)

    def wait_on(self, pin: int, since: float, timeout: float) -> float | None:
        """Wait until *pin* goes on after *since*; when it did."""
        wait_until(lambda: self.on_since(pin, since) is not None, timeout)
        return self.on_since(pin, since)

    def status_lines(self) -> list[str]:
        """Every ``STATUS=`` the node sent, in order."""
        out = []
        for n in list(self.notices):
            out += [x.removeprefix("STATUS=") for x in n.splitlines() if x.startswith("STATUS=")]
        return out

    def wait_status(self, text: str, timeout: float) -> bool:
        """Wait for a ``STATUS=`` containing *text*."""

        def seen() -> bool:
            return any(text in s for s in self.status_lines())

        wait_until(lambda: seen() or not self.alive(), timeout)
        return seen()

    def records(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON log records so far (of *event*)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and (event is None or rec.get("event") == event):
                out.append(rec)
        return out

    def wait_record(self, event: str, timeout: float) -> dict[str, Any] | None:
        """Wait for a log record of *event*; the first one."""
        wait_until(lambda: bool(self.records(event)), timeout)
        found = self.records(event)
        return found[0] if found else None

    def send(self, sig: signal.Signals) -> None:
        """Send *sig* to the process."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def alive(self) -> bool:
        """Is the process running?"""
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the process to end; its exit status."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self._close()
        return code

    def kill(self) -> None:
        """SIGKILL (a power cut), if it runs."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._err is not None:
            self._err.close()
            self._err = None

    def tail(self, chars: int = 3000) -> str:
        """The end of the log (for assertion messages)."""
        code = None if self.proc is None else self.proc.poll()
        return f"[exit {code}]\n{self.log.read_text(errors='replace')[-chars:]}"
