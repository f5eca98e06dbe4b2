"""Processes of the dashboard's browser test: ``edge receive --http`` and a node daemon
(``edge run``), each a subprocess with its log in a file, always stopped; and headless
Chromium driven by Selenium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA

CHROMIUM = Path(os.environ.get("EDGE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("EDGE_CHROMEDRIVER", "/usr/bin/chromedriver"))
_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("EDGE_TEST_ARTIFACTS", _ROOT / "out" / "test-artifacts"))
"""Where the browser test leaves its screenshots (``out/`` is ignored by git)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def receiver_toml(
    data_dir: Path,
    broker: LocalBroker,
    ca: DemoCA,
    name: str,
    prefix: str,
    offline_after_s: float = 80,
) -> str:
    """receiver.toml for the session's broker, under *prefix*, with a dashboard section."""
    pair = ca.issue(f"receiver-{name}")
    return (
        f'[receiver]\nname = "{name}"\ndata_dir = "{data_dir}"\n'
        f'[broker]\nhost = "localhost"\nport = {broker.tls_port}\ntopic_prefix = "{prefix}"\n'
        f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
        f"[supervision]\ncheck_interval_s = 0.5\noffline_after_s = {offline_after_s}\n"
        "[http]\nboard_refresh_s = 1\n"
    )


def edge(*args: str, stdin: str = "") -> str:
    """Run ``python -m edge ARGS``; its output (it must succeed)."""
    done = subprocess.run([sys.executable, "-m", "edge", *args], input=stdin, text=True,
                          capture_output=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Daemon:
    """``python -m edge ARGS`` in the background, its log kept."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log = args, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (output appended to the log)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "edge", *self.args],
                                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip

    def running(self) -> bool:
        """Still running?"""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (a power cut)."""
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        if self.running():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        """The end of the log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"[{self.args[0]} exit {self.proc.poll() if self.proc else None}]\n{text[-chars:]}"


@contextmanager
def daemon(args: list[str], log: Path) -> Iterator[Daemon]:
    """A started :class:`Daemon`, stopped at the end whatever happens."""
    d = Daemon(args, log)
    try:
        d.start()
        yield d
    finally:
        d.stop()


def wait_http(url: str, proc: Daemon, timeout: float = 60) -> None:
    """Wait until *url* answers (the dashboard is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.running(), proc.tail()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout} s: {proc.tail()}")


@contextmanager
def chromium(window: tuple[int, int] = (1400, 1500)) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium through its chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                f"--window-size={window[0]},{window[1]}"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
