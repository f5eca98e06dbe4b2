"""A day at one warehouse, made and lived through in under a minute: a real node daemon on
mock pins (``edge run``: its door driven by the test, a masked camera replaying a synthetic
video, a private one never opened), a real ``edge receive --http`` on the session's mosquitto
(mutual TLS), both on one wall clock the test moves (:mod:`clockrun`: every ``edge`` of the
rig, the documented commands included, runs on it), and officers on the receiver's pages
over HTTP."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from nodecfg import file_camera, node_config, sensor, tls_destination
from synth import MASK_TOML, write_video

from edge.config.loader import loads as node_loads
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.evidence.keys import NodeKey, public_pem
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.users import Users

HERE = Path(__file__).resolve().parent
CLOCKRUN = HERE / "clockrun.py"
PINNED = HERE.parent / "node" / "pinned_run.py"
WIB = timezone(timedelta(hours=7))
DAY = datetime(2026, 12, 1, tzinfo=WIB).timestamp()
"""The made day starts at 2026-12-01 00:00 WIB (the documented commands name it)."""
SITE, NODE, DEST = "semarang-kaligawe", "gudang-01", "polda"
RECEIVER = "polda-jateng"
DOOR = 5
OFFICERS = ("budi", "sari")
PASSWORD = "kuda baterai staples benar"


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, why: Callable[[], str] = str
) -> Any:
    """Poll *condition()* until it returns something true; its value. Fails naming *what*
    and saying *why()* (the processes' logs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n{why()}")
        time.sleep(0.05)


class Clock:
    """The rig's wall clock: an offset from the real time in a file every process follows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(DAY)

    def set(self, t: float) -> None:
        """From now on it is *t* (UNIX s) and time runs on from there; every process has it
        within 50 ms (the followers' poll, waited here)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{t - time.time():.6f}\n")
        tmp.replace(self.path)
        time.sleep(0.12)

    def now(self) -> float:
        """The rig's time now."""
        return time.time() + float(self.path.read_text())

    def edge(self) -> list[str]:
        """The argv prefix of ``edge`` on this clock."""
        return [sys.executable, str(CLOCKRUN), str(self.path), "-m", "edge"]


def at(hours: float) -> float:
    """The made day's *hours* after midnight (may pass into the next day)."""
    return DAY + hours * 3600


class Proc:
    """A process of the rig, its output in a log file, stopped with SIGTERM (then killed)."""

    def __init__(self, argv: list[str], log: Path, stdin: bool = False) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     text=True)  # fmt: skip

    def running(self) -> bool:
        """Still running?"""
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, wait; SIGKILL if it does not end. Its exit status."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        return f"[exit {self.proc.poll()}]\n{self.log.read_text(errors='replace')[-chars:]}"


@dataclass
class Day:
    """The rig: where it is, its clock, store, processes and dashboard."""

    where: Path
    clock: Clock
    store: ReceiverStore
    receiver: Proc
    node: Proc
    url: str
    bin: Path
    """A folder holding ``edge`` on the rig's clock (first on PATH for documented commands)."""

    def door(self, open_s: float = 1.0) -> None:
        """The door opens and shuts again *open_s* later."""
        assert self.node.proc.stdin is not None and self.node.running(), self.node.tail()
        self.node.proc.stdin.write(f"trip {DOOR}\n")
        self.node.proc.stdin.flush()
        time.sleep(open_s)
        self.node.proc.stdin.write(f"rest {DOOR}\n")
        self.node.proc.stdin.flush()

    def tails(self) -> str:
        """The ends of the node's and the receiver's logs."""
        return f"node: {self.node.tail()}\nreceiver: {self.receiver.tail()}"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of *sql* on the receiver's store."""
        return [tuple(r) for r in self.store.db.query(sql, args)]

    def clips(self) -> list[tuple[str, str, float]]:
        """(clip id, sha256, stored) of the complete clips, oldest first."""
        rows = self.query("SELECT clip_id, sha256, updated FROM clips WHERE state = 'complete'"
                          " ORDER BY updated")  # fmt: skip
        return [(str(c), str(s), float(u)) for c, s, u in rows]

    def run(self, command: str, expect: int = 0) -> str:
        """A shell *command* in the rig's folder with ``edge`` on its clock; its stdout."""
        env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=self.where,
                              env=env, capture_output=True, text=True, timeout=60,
                              check=False)  # fmt: skip
        assert done.returncode == expect, (command, done.returncode, done.stdout, done.stderr)
        return done.stdout

    @contextmanager
    def officer(self, user: str) -> Iterator[httpx.Client]:
        """An HTTP client logged in as *user* through the login form."""
        with httpx.Client(base_url=self.url, timeout=20) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token, page.text[:300]
            r = c.post("/login", data={"username": user, "password": PASSWORD,
                                       "csrf": token[1]})  # fmt: skip
            assert r.status_code in (200, 303), r.text[:300]
            yield c


def _receiver_toml(data: Path, broker: LocalBroker, ca: DemoCA, prefix: str, store: str) -> str:
    pair = ca.issue(f"receiver-{prefix}")
    return (
        f'[receiver]\nname = "{RECEIVER}"\ndata_dir = "{data}"\nstore = "{store}"\n'
        f'[broker]\nhost = "localhost"\nport = {broker.tls_port}\ntopic_prefix = "{prefix}"\n'
        f'[broker.tls]\nca = "{ca.ca_path}"\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
        "[supervision]\ncheck_interval_s = 0.5\n[retention]\ndays = 1\n"
    )


def _node_toml(where: Path, broker: LocalBroker, ca: DemoCA, cert: CertPair, prefix: str) -> str:
    video = write_video(where / "pintu.mp4", frames=40)
    pintu = (
        f'[[cameras]]\nname = "pintu"\nfps = 5\n{MASK_TOML}\n'
        f'detect = {{ kind = "file", path = "{video}", realtime = true, loop = true }}\n'
    )
    kantor = file_camera("kantor", video, extra="private = true")
    return node_config(
        where / "node-data", NODE, SITE, mock_gpio=True,
        extra='[logging]\nformat = "json"\n[health]\ninterval_s = 5\n'
        "[clips]\npre_roll_s = 1\npost_roll_s = 1\n",
        cameras=[pintu, kantor],
        sensors=[sensor("pintu-depan", "door", pin=DOOR, debounce_s=0, cameras=["pintu"])],
        destinations=[tls_destination(broker, ca, cert, name=DEST, topic_prefix=prefix,
                                      cameras=["pintu"])],
    )  # fmt: skip


@contextmanager
def day_rig(
    where: Path, broker: LocalBroker, ca: DemoCA, cert: CertPair, store_url: str = "sqlite"
) -> Iterator[Day]:
    """Start the receiver (its store: ``sqlite`` or a PostgreSQL URL) and the node at 00:20
    of the made day; stop both at the end."""
    prefix = "day-" + hashlib.sha256(str(where).encode()).hexdigest()[:8]
    clock = Clock(where / "clock")
    clock.set(at(0.33))
    toml = _receiver_toml(where / "rx", broker, ca, prefix, store_url)
    (where / "receiver.toml").write_text(toml)
    node_text = _node_toml(where, broker, ca, cert, prefix)
    (where / "node.toml").write_text(node_text)
    bin_dir = where / "bin"
    bin_dir.mkdir()
    (bin_dir / "edge").write_text("#!/bin/sh\nexec " + " ".join(clock.edge()) + ' "$@"\n')
    (bin_dir / "edge").chmod(0o755)
    with ExitStack() as stack:
        url = f"sqlite:///{where / 'rx' / 'receiver.db'}" if store_url == "sqlite" else store_url
        store = ReceiverStore(url, where / "rx")
        stack.callback(store.close)
        store.enrol(SITE, NODE, public_pem(NodeKey(node_loads(node_text).key_path).public))
        for user in OFFICERS:
            Users(store.db).add(user, "officer", PASSWORD)
        with socket_port() as port:
            url = f"http://127.0.0.1:{port}"
        receiver = Proc([*clock.edge(), "receive", "--config", str(where / "receiver.toml"),
                         "--http", f"127.0.0.1:{port}"], where / "receiver.log")  # fmt: skip
        stack.callback(receiver.stop)
        wait_for(lambda: b"receiver.subscribed" in receiver.log.read_bytes()
                 or not receiver.running(), 60, "the receiver subscribed",
                 receiver.tail)  # fmt: skip
        assert receiver.running(), receiver.tail()
        node = Proc([sys.executable, str(CLOCKRUN), str(clock.path), str(PINNED),
                     str(where / "node.toml")], where / "node.log", stdin=True)  # fmt: skip
        stack.callback(node.stop)
        day = Day(where, clock, store, receiver, node, url, bin_dir)
        wait_for(lambda: day.query("SELECT 1 FROM nodes WHERE node = ? AND last_seen IS NOT NULL",
                                   NODE), 60, "the node heard from", day.tails)  # fmt: skip
        yield day


@contextmanager
def socket_port() -> Iterator[int]:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port
