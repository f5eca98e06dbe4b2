"""The node's last will on a real mosquitto: delayed by ``will_delay_s`` (MQTT 5 Will Delay
Interval, the session kept as long), so a short drop that the node recovers from raises
nothing; a node that stays away is announced ``offline`` after the delay. And what
mosquitto does with delayed wills when it stops: it sends them all at once, which the
receiver must tell apart (``edge/receiver/presence.py``)."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

from conftest import Subscribe
from traffic import tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Received
from edge.link.mqtt import MqttLink
from edge.outbox.store import Outbox


def _link(tmp: Path, broker: LocalBroker, ca: DemoCA, cert: CertPair, node: str,
          **settings: float) -> MqttLink:  # fmt: skip
    dest = tls_dest(broker, ca.ca_path, cert, topic_prefix="willdelay", reconnect_max_s=1,
                    **settings)  # fmt: skip
    return MqttLink(dest, NodeConfig(id=node, site="s"), Outbox(tmp / f"{node}.sqlite"))


def _cut(link: MqttLink) -> None:
    """Drop the link's TCP connection under it (a network blip); it reconnects itself."""
    client = link._client
    assert client is not None
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    with contextlib.suppress(OSError):  # already closed under us: the connection is gone
        sock.shutdown(socket.SHUT_RDWR)


def _statuses(msgs: list[Received], node: str) -> list[dict[str, object]]:
    return [m.json() for m in msgs if m.topic == f"willdelay/s/{node}/status"]


def _onlines(msgs: list[Received], node: str) -> list[dict[str, object]]:
    return [s for s in _statuses(msgs, node) if s["state"] == "online"]


def _wills(msgs: list[Received], node: str) -> list[dict[str, object]]:
    return [s for s in _statuses(msgs, node) if s.get("cause") == "connection_lost"]


def test_a_drop_shorter_than_the_will_delay_raises_no_will_a_longer_one_does(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """will_delay_s = 3: the connection cut and back within ~1 s publishes no will (a new
    'online' of the next connection, whose 'connected' is later); with will_delay_s = 0
    the same cut publishes the will at once. The will carries its connection's start and
    delay, no time of its own."""
    police = subscribe("willdelay/#", client_id="willdelay-watch")
    delayed = _link(tmp_path, broker, ca, node_cert, "delayed", will_delay_s=3)
    at_once = _link(tmp_path, broker, ca, node_cert, "at-once", will_delay_s=0)
    for link in (delayed, at_once):
        link.start()
        assert link.wait_connected(10)
    try:
        cut = time.monotonic()
        for link in (delayed, at_once):
            _cut(link)
        assert police.wait_for(lambda m: len(_wills(m, "at-once")) == 1, 10)
        assert police.wait_for(lambda m: len(_onlines(m, "delayed")) == 2, 10)
        assert time.monotonic() - cut < 3
        first, second = _onlines(police.messages, "delayed")
        assert float(str(second["connected"])) > float(str(first["connected"]))
        assert not police.wait_for(lambda m: bool(_wills(m, "delayed")), 3 + 2)  # none by then
        will = _wills(police.messages, "at-once")[0]
        assert set(will) == {"state", "cause", "version", "connected", "will_delay_s"}
        assert will["will_delay_s"] == 0
    finally:
        for link in (delayed, at_once):
            link.stop()


def test_a_node_that_stays_away_is_announced_after_the_delay(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """will_delay_s = 2 and the node never comes back (its connection cut, its link then
    stopped before it could reconnect: no clean 'offline'): the retained will comes 2-4 s
    after the cut (mosquitto looks at delayed wills about once a second)."""
    police = subscribe("willdelay/#", client_id="willdelay-away")
    link = _link(tmp_path, broker, ca, node_cert, "away", will_delay_s=2)
    link.start()
    try:
        assert link.wait_connected(10)
        cut = time.monotonic()
        _cut(link)
        deadline = cut + 5
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.005)
        link.stop()  # before its first reconnect (0.5-1 s after the drop)
        assert police.wait_for(lambda m: bool(_wills(m, "away")), 10)
        took = next(m.at for m in police.messages if m.topic.endswith("away/status")
                    and m.json().get("cause") == "connection_lost")  # fmt: skip
        assert 2 - 0.2 <= took - (time.time() - (time.monotonic() - cut)) <= 4.5
    finally:
        link.stop()


def test_mosquitto_sends_every_delayed_will_at_once_when_it_stops(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The broker (persistence on, as the police broker runs) stopped while 3 nodes with a
    60 s will delay are connected: a persistent subscriber gets all three wills within a
    second of the stop, delay or not (mosquitto 2.0.11). This is why the receiver judges
    an 'offline' against its own connection's outages."""
    b = LocalBroker(tmp_path / "broker", ca, persistence=True)
    b.start()
    police = subscribe("willdelay/#", client_id="willdelay-restart", persistent=True, broker=b)
    links = [_link(tmp_path, b, ca, node_cert, f"n{i}", will_delay_s=60) for i in range(3)]
    for link in links:
        link.start()
        assert link.wait_connected(10)
    try:
        stopped = time.monotonic()
        b.restart()
        every = lambda m: all(_wills(m, n) for n in ("n0", "n1", "n2"))  # noqa: E731
        assert police.wait_for(every, 15), police.messages
        assert time.monotonic() - stopped < 15  # not the 60 s delay
    finally:
        for link in links:
            link.stop()
        b.stop()
