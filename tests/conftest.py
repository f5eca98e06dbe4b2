"""Shared fixtures: a real mosquitto (plain + mutual TLS) for the whole session, sample data."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import pytest
import structlog
from installed import give_install_its_timeout, install, root_copy
from pg import PgServer

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Subscriber

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared").resolve()
VIDEOS = SHARED / "data" / "videos"

log = structlog.get_logger("tests")

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Every test starts from structlog's defaults (every level passes): a test that ran
    `edge ...` in-process must not leave a level filter that hides another test's events."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCA:
    """A throwaway CA for the session's broker and clients."""
    return DemoCA(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, ca: DemoCA) -> Iterator[LocalBroker]:
    """A real mosquitto on free 127.0.0.1 ports, plain and mutual-TLS listeners."""
    b = LocalBroker(tmp_path_factory.mktemp("broker"), ca)
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def node_cert(ca: DemoCA) -> CertPair:
    """Client certificate of the node under test."""
    return ca.issue("test-node")


@pytest.fixture(scope="session")
def police_cert(ca: DemoCA) -> CertPair:
    """Client certificate of the police-side subscriber."""
    return ca.issue("police-test")


class Subscribe(Protocol):
    """The ``subscribe`` fixture: start a police-side subscriber."""

    def __call__(
        self,
        topic: str = "warehouse/#",
        *,
        client_id: str = "police-watch",
        persistent: bool = False,
        broker: LocalBroker | None = None,
    ) -> Subscriber:
        """Subscribe to *topic* on *broker* (the session's broker unless given)."""
        ...


@pytest.fixture
def subscribe(
    request: pytest.FixtureRequest, ca: DemoCA, police_cert: CertPair
) -> Iterator[Subscribe]:
    """Factory: ``subscribe(topic, client_id=..., persistent=..., broker=...)`` connects the
    police-side subscriber over mutual TLS with the police certificate, returns once the
    subscription is acknowledged, and disconnects it at teardown."""
    started: list[Subscriber] = []

    def start(
        topic: str = "warehouse/#",
        *,
        client_id: str = "police-watch",
        persistent: bool = False,
        broker: LocalBroker | None = None,
    ) -> Subscriber:
        b: LocalBroker = broker or request.getfixturevalue("broker")
        s = Subscriber(
            b.tls_port,
            str(ca.ca_path),
            police_cert,
            topic=topic,
            client_id=client_id,
            persistent=persistent,
        )
        started.append(s)  # stopped at teardown even if the subscription times out
        s.start()
        return s

    yield start
    for s in reversed(started):
        s.stop()


@pytest.fixture(scope="session")
def videos() -> Path:
    """Directory of the shared sample videos."""
    if not VIDEOS.is_dir():
        pytest.fail(f"sample videos missing: {VIDEOS} (the tests read ../shared/data)")
    return VIDEOS


class RtspServer:
    """The shared GStreamer RTSP test server (system Python with gi) serving one file."""

    def __init__(self, video: Path, port: int = 0) -> None:
        self.video = video
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 15.0) -> str:
        """Start serving; returns the rtsp:// URL (same port on a restart)."""
        script = SHARED / "tools" / "rtsp_server.py"
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(script), str(self.video), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("READY "):
                self.url = line.split()[1]
                self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
                return self.url
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"RTSP server did not start (exit {self.proc.poll()})")

    def stop(self) -> None:
        """Kill the server (as a camera losing power)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def rtsp_server() -> Iterator[Callable[[Path], RtspServer]]:
    """Factory: ``rtsp_server(video)`` starts a real RTSP server on 127.0.0.1."""
    servers: list[RtspServer] = []

    def start(video: Path) -> RtspServer:
        s = RtspServer(video)
        s.start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A private PostgreSQL on 127.0.0.1 for the whole session (needs Debian's postgresql)."""
    server = PgServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


_pg_databases = itertools.count(1)


@pytest.fixture(scope="session")
def _pg_dropper(pg_server: PgServer) -> Iterator[ThreadPoolExecutor]:
    """One thread that drops the tests' databases while the next test runs (a DROP DATABASE
    waits for a checkpoint: 0.3-2 s of each PostgreSQL test's teardown otherwise); every
    drop is done before the server stops."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop") as dropper:
        yield dropper


def _drop_quietly(pg_server: PgServer, name: str) -> None:
    """Drop *name* unless the server is stopped; a server a test stopped meanwhile only
    leaves a database behind in the session's throwaway data directory."""
    if pg_server.pid is None:
        return
    try:
        pg_server.drop_database(name)
    except Exception as e:  # a test may stop the server while this runs
        log.warning("pg.drop_failed", database=name, error=str(e))


@pytest.fixture
def pg_url(
    pg_server: PgServer, _pg_dropper: ThreadPoolExecutor, request: pytest.FixtureRequest
) -> Iterator[str]:
    """URL of a fresh, empty database on the session's PostgreSQL, dropped after the test
    (in the background; every test gets a new name)."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    name = f"t{next(_pg_databases):04d}_{slug}"
    url = pg_server.new_database(name)
    yield url
    if pg_server.pid is not None:  # skip the drop if a test left the server stopped
        _pg_dropper.submit(_drop_quietly, pg_server, name)


# the deploy tests' shared installed root and private views of it (tests/deploy/installed.py)
__all__ = ["install", "root_copy"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the shared installed root gets the fixture's timeout. Modules with a
    slow test run first, each module's tests together and in their order: the xdist workers
    take the long tests while short ones remain to even out their ends, instead of one worker
    idle while the other finishes a long test collected late."""
    give_install_its_timeout(items)
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)


@pytest.hookimpl(optionalhook=True)  # a venv without pytest-xdist still runs the tests
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``make test`` runs two pytest-xdist workers: every test of tests/deploy goes to one
    of them (one shared installed root, the caches of debroot.py), the others one by one to
    whichever is free. (xdist's own ``--dist loadgroup`` renames nodeids through an
    attribute pytest 9.2 no longer reads, so its groups are silently ignored.)"""
    from xdist.scheduler import LoadScopeScheduling

    class DeployTogether(LoadScopeScheduling):  # type: ignore[misc]
        """Scopes: "deploy" for tests/deploy, the file for a browser console module (one
        receiver and browser per module), each other test its own."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith("tests/receiver/web/test_console_browser"):
                return nodeid.split("::", 1)[0]
            return "deploy" if nodeid.startswith("tests/deploy/") else nodeid

    return DeployTogether(config, log)
