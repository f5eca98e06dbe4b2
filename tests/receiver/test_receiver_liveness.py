"""`edge receive` under systemd (issue 20, "No silent dead thread"), through the real
process: READY=1 once started, WATCHDOG=1 while the writer moves (also while it waits for a
database that is away), withheld while the writer is wedged; a thread that dies ends the
process with exit 1, and what it had not acknowledged is stored after the restart."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import PgServer
from rx import publisher, receiver_toml
from sdnotify import NotifySocket, launch, stop, wait_log
from timing import wait_until

from edge.bench.fleet import Publisher, SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.store.database import Database
from edge.receiver.store.store import ReceiverStore

pytestmark = [pytest.mark.faults, pytest.mark.slow]

NODE = SimNode("semarang", "gudang-01")

INJECTIONS = {
    "receiver-writer": (
        "from edge.receiver.service import Receiver\n"
        "def boom(self, batch):\n    raise RuntimeError('injected')\n"
        "Receiver._commit = boom\n"
    ),
    "receiver-supervise": (  # SystemExit ends a thread without a word: the silent kind
        "from edge.receiver.supervise import Supervisor\n"
        "def boom(self):\n    raise SystemExit('injected')\n"
        "Supervisor.check = boom\n"
    ),
    "receiver-mqtt": (
        "from edge.receiver.ingest import Ingest\n"
        "def boom(self, *args):\n    raise SystemExit('injected')\n"
        "Ingest._message = boom\n"
    ),
    "receiver-web": (
        "import uvicorn\n_tick = uvicorn.Server.on_tick\n"
        "async def boom(self, counter):\n"
        "    if counter > 3:\n        raise RuntimeError('injected')\n"
        "    return await _tick(self, counter)\n"
        "uvicorn.Server.on_tick = boom\n"
    ),
}


@pytest.fixture
def pub(broker: LocalBroker, ca: DemoCA, tmp_path: Path) -> Iterator[Publisher]:
    """A publisher under this test's own prefix."""
    p = publisher(broker, ca, "lv-" + "".join(c for c in tmp_path.name if c.isalnum())[-24:])
    yield p
    p.close()


def _conf(tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher, store: str) -> Path:
    """receiver.toml on *store*, NODE enrolled."""
    conf = tmp_path / "receiver.toml"
    name = "lv" + "".join(c for c in tmp_path.name.lower() if c.isalnum())[-30:]
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca, name=name, store=store,
                                  prefix=pub.prefix))  # fmt: skip
    url = store if store != "sqlite" else f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
    s = ReceiverStore(url, tmp_path / "rx")
    s.enrol(NODE.site, NODE.node, NODE.key.pem)
    s.close()
    return conf


def _stored(url: str, event_id: str) -> int:
    """How often event *event_id* is in the store at *url* (read on a connection of its own)."""
    db = Database(url)
    try:
        return int(db.query("SELECT COUNT(*) FROM events WHERE id = ?", (event_id,))[0][0])
    finally:
        db.close()


@pytest.mark.parametrize("thread", sorted(INJECTIONS))
def test_a_thread_that_dies_ends_the_process_non_zero(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher, thread: str
) -> None:
    """The thread made to die (a writer that raises, a supervision loop or MQTT thread that
    ends with SystemExit, which Python reports nowhere, a dashboard server that fails):
    the process logs which and exits 1 within seconds (systemd restarts it). Restarted,
    it stores the event the dead one never acknowledged, once."""
    conf = _conf(tmp_path, broker, ca, pub, "sqlite")
    log = tmp_path / "rx.log"
    extra = ("--http", "127.0.0.1:0") if thread == "receiver-web" else ()
    proc = launch(conf, log, inject=INJECTIONS[thread], extra=extra)
    try:
        wait_log(log, "receiver.subscribed", proc)
        wire = NODE.event("person")
        pub.publish(NODE, wire)
        assert proc.wait(20) == 1
    finally:
        stop(proc)
    text = log.read_text(errors="replace")
    assert "receiver.thread_died" in text and thread in text, text[-2000:]
    mark = log.stat().st_size
    again = launch(conf, log)
    try:
        wait_log(log, "receiver.subscribed", again, since=mark)
        url = f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
        event_id = json.loads(wire[1])["id"]
        assert wait_until(lambda: _stored(url, event_id) == 1, 10), log.read_text()[-2000:]
    finally:
        assert stop(again) == 0


def test_ready_then_watchdog_withheld_while_the_writer_is_wedged(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher
) -> None:
    """READY=1 once started; WATCHDOG=1 every half WATCHDOG_USEC while idle; an event that
    arrives while the SQLite write lock is held elsewhere wedges the writer inside SQLite's
    busy wait: the ping is withheld (and logged) until the lock goes, then resumes and the
    event is stored; SIGTERM: STOPPING=1 and exit 0."""
    conf = _conf(tmp_path, broker, ca, pub, "sqlite")
    log = tmp_path / "rx.log"
    sock = NotifySocket(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(sock.path), "WATCHDOG_USEC": "1000000"}
    proc = launch(conf, log, env=env)
    db = tmp_path / "rx" / "receiver.db"
    try:
        assert wait_until(lambda: sock.messages, 30), log.read_text()[-2000:]
        assert "READY=1" in sock.messages[0][1]
        t0 = time.monotonic()
        assert wait_until(lambda: sock.pings(t0) >= 3, 5)  # every 0.5 s
        wait_log(log, "receiver.subscribed", proc)
        lock = sqlite3.connect(str(db), timeout=5, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        wire = NODE.event("person")
        pub.publish(NODE, wire)
        wait_log(log, "watchdog.withheld", proc, timeout=10)
        t1 = time.monotonic()
        assert not wait_until(lambda: sock.pings(t1) > 0, 1.5)  # withheld: none comes
        lock.execute("COMMIT")
        lock.close()
        t2 = time.monotonic()
        assert wait_until(lambda: sock.pings(t2) >= 2, 5)
        url = f"sqlite:///{db}"
        assert wait_until(lambda: _stored(url, json.loads(wire[1])["id"]) == 1, 5)
        assert "watchdog.resumed" in log.read_text()
    finally:
        code = stop(proc)
        sock.close()
    assert code == 0
    assert any("STOPPING=1" in m for _, m in sock.messages)


def test_a_database_that_is_away_does_not_stop_the_watchdog(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, pub: Publisher
) -> None:
    """PostgreSQL stopped with events waiting: the writer tries again and again (each try is
    progress), so WATCHDOG=1 keeps coming and systemd does not kill-loop the receiver;
    PostgreSQL back, the events are stored."""
    with PgServer() as pg:
        conf = _conf(tmp_path, broker, ca, pub, pg.url)
        log = tmp_path / "rx.log"
        sock = NotifySocket(tmp_path / "notify.sock")
        env = {"NOTIFY_SOCKET": str(sock.path), "WATCHDOG_USEC": "6000000"}
        proc = launch(conf, log, env=env)
        try:
            wait_log(log, "receiver.subscribed", proc)
            pg.stop()
            wires = [NODE.event("person", n=i) for i in range(20)]
            for w in wires:
                pub.publish(NODE, w)
            wait_log(log, "receiver.store_failed", proc)
            t1 = time.monotonic()
            assert wait_until(lambda: sock.pings(t1) >= 4, 16), log.read_text()[-2000:]
            assert "watchdog.withheld" not in log.read_text()
            pg.start()
            ids = [json.loads(w[1])["id"] for w in wires]
            assert wait_until(lambda: all(_stored(pg.url, i) == 1 for i in ids), 30)
        finally:
            code = stop(proc)
            sock.close()
        assert code == 0
