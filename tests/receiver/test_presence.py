"""Node presence on a real mosquitto with real node links (the node's own MQTT code, its
will and statuses) and a real receiver: a broker restart raises no node_offline for nodes
that are connected (mosquitto sends every will as it stops), while a node that really dies
is still alerted: by its will, with the time it went offline, or, when it dies around a
broker restart, by its silence."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from links import LinkProcess, destination, link
from rx import enrol, publisher, receiver_config
from timing import wait_until

from edge.bench.fleet import SimNode, fleet
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.link.mqtt import MqttLink
from edge.receiver.presence import CONFIRM_S, Presence
from edge.receiver.service import Receiver
from edge.receiver.store import reads

MARGIN_S = 3.0
"""Slack on a timing bound for a loaded 2-core machine."""


@pytest.fixture
def own_broker(tmp_path: Path, ca: DemoCA) -> Iterator[LocalBroker]:
    """A broker of this test's own, persistent like the police broker (it is restarted)."""
    b = LocalBroker(tmp_path / "broker", ca, persistence=True)
    b.start()
    yield b
    b.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    """The store: SQLite or a fresh PostgreSQL database."""
    return "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


def _receiver(
    tmp: Path, b: LocalBroker, ca: DemoCA, store: str, offline_after_s: float = 80, **extra: float
) -> Receiver:
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    cfg = receiver_config(tmp / "rx", b, ca, name="presence", store=store,
                          offline_after_s=offline_after_s, supervision_extra=lines)  # fmt: skip
    r = Receiver(cfg)
    r.start()
    assert r.ingest.subscribed.wait(15)
    return r


def _presence(r: Receiver) -> Presence:
    assert r.supervisor.presence is not None
    return r.supervisor.presence


def _connections(r: Receiver) -> dict[str, Any]:
    """node -> the start of the connection its last 'online' named (None: not online)."""
    rows = r.store.db.query("SELECT node, online, status_connected FROM nodes")
    return {str(n): (c if o else None) for n, o, c in rows}


def _offline_alerts(r: Receiver, open_only: bool = False) -> list[dict[str, Any]]:
    alerts = reads.alerts(r.store.db, open_only=open_only)
    return [a for a in alerts if a["kind"] == "node_offline"]


@pytest.mark.slow
def test_a_broker_restart_raises_no_node_offline_for_connected_nodes(
    tmp_path: Path, own_broker: LocalBroker, ca: DemoCA, engine: str
) -> None:
    """Five node links (will delay 10 s) online; the persistent broker is restarted; one
    node is frozen (SIGSTOP) across the restart so that its will stands past the usual
    confirmation. mosquitto publishes the wills as it stops; the receiver waits out its
    restart grace (20 s here) for them: the frozen node resumes within it, and after every
    node is back (a later connection) and every status judged, no node_offline was ever
    raised and the frozen node's will was put down to the restart."""
    nodes = list(fleet(5))
    r = _receiver(tmp_path, own_broker, ca, engine, restart_grace_s=20)
    enrol(r.store, *nodes)
    dest = destination(own_broker, ca, "warehouse")
    links: list[MqttLink] = []
    frozen = LinkProcess(dest, nodes[4].site, nodes[4].node, tmp_path / "frozen")
    try:
        for n in nodes[:4]:
            links.append(link(dest, n.site, n.node, tmp_path / f"{n.node}.sqlite"))
            links[-1].start()
        frozen.start()
        assert wait_until(lambda: None not in _connections(r).values(), 20), _connections(r)
        before = _connections(r)
        assert frozen.proc is not None
        os.kill(frozen.proc.pid, signal.SIGSTOP)
        own_broker.restart()
        back = lambda: all(_connections(r)[n.node] not in (None, before[n.node])  # noqa: E731
                           for n in nodes[:4])  # fmt: skip
        assert wait_until(back, 30), _connections(r)
        assert _connections(r)[nodes[4].node] is None  # the frozen node's will stands...
        assert wait_until(lambda: _presence(r).pending, CONFIRM_S + 5)  # ...waits the grace
        os.kill(frozen.proc.pid, signal.SIGCONT)
        assert wait_until(lambda: None not in _connections(r).values(), 15), frozen.tail()
        assert wait_until(lambda: _presence(r).ignored >= 1 and not _presence(r).pending, 25)
        assert _offline_alerts(r) == []
        assert reads.quarantine(r.store.db) == []
    finally:
        frozen.stop()
        for one in links:
            one.stop()
        r.stop()


def test_a_killed_node_is_alerted_by_its_will_with_the_time_it_died(
    tmp_path: Path, own_broker: LocalBroker, ca: DemoCA, engine: str
) -> None:
    """A node link process (will delay 2 s) SIGKILLed long after the receiver connected:
    node_offline within will delay + CONFIRM_S + check interval (+ margin), saying
    'connection_lost' and, as offline_since, the time of the kill (the will's arrival
    less its delay)."""
    node = SimNode("semarang", "gudang-mati")
    r = _receiver(tmp_path, own_broker, ca, engine, restart_grace_s=1)
    enrol(r.store, node)
    proc = LinkProcess(destination(own_broker, ca, "warehouse", will_delay_s=2),
                       node.site, node.node, tmp_path / "node")  # fmt: skip
    try:
        proc.start()
        assert wait_until(lambda: _connections(r).get(node.node) is not None, 20)
        killed = proc.kill()
        bound = 2 + 1 + CONFIRM_S + 0.5 + MARGIN_S  # mosquitto sends delayed wills each ~1 s
        assert wait_until(lambda: _offline_alerts(r, open_only=True), bound), proc.tail()
        took = time.time() - killed
        print(f"will path: node_offline {took:.1f} s after SIGKILL (will delay 2 s)")
        alert = _offline_alerts(r)[0]
        assert "connection_lost" in alert["detail"], alert
        since = r.store.db.query("SELECT offline_since FROM nodes")[0][0]
        assert abs(float(since) - killed) <= 1.5, (since, killed)
    finally:
        proc.stop()
        r.stop()


@pytest.mark.slow
def test_a_node_that_dies_just_after_a_broker_restart_is_caught_by_its_silence(
    tmp_path: Path, own_broker: LocalBroker, ca: DemoCA, engine: str
) -> None:
    """A node (heartbeat every second, will delay 2 s) SIGKILLed right after the broker
    restarted: node_offline comes from its silence within offline_after_s (6 s here) +
    check interval, and its will, landing within the restart's grace (4 s here), is not put
    down to the restart once the grace has passed without the node."""
    node = SimNode("semarang", "gudang-sial")
    r = _receiver(tmp_path, own_broker, ca, engine, offline_after_s=6, restart_grace_s=4)
    enrol(r.store, node)
    proc = LinkProcess(destination(own_broker, ca, "warehouse", will_delay_s=2),
                       node.site, node.node, tmp_path / "node")  # fmt: skip
    pub = publisher(own_broker, ca)
    beating = threading.Event()
    beating.set()

    def heartbeats() -> None:
        while beating.is_set():
            pub.publish(node, node.heartbeat())
            time.sleep(1)

    beat = threading.Thread(target=heartbeats, daemon=True)
    try:
        proc.start()
        beat.start()
        assert wait_until(lambda: _connections(r).get(node.node) is not None, 20)
        first = _connections(r)[node.node]
        own_broker.restart()
        assert wait_until(lambda: _connections(r).get(node.node) not in (None, first), 30)
        beating.clear()
        beat.join(5)
        killed = proc.kill()

        def after() -> list[dict[str, Any]]:
            return [a for a in _offline_alerts(r) if a["raised"] >= killed]

        assert wait_until(after, 6 + 0.5 + MARGIN_S)
        print(f"silence path: node_offline {time.time() - killed:.1f} s after SIGKILL")
        assert "no heartbeat" in after()[0]["detail"]
        judged = lambda: _presence(r).judged > killed + 3 and not _presence(r).pending  # noqa: E731
        assert wait_until(judged, 2 + 1 + 4 + CONFIRM_S + MARGIN_S)
        assert _presence(r).ignored == 0
    finally:
        beating.clear()
        proc.stop()
        pub.close()
        r.stop()
