"""How soon alerts flow again after the broker comes back: the reconnect backoff is capped at
``reconnect_max_s`` (10 s by default, jittered to [cap/2, cap]), so an alarm queued during an
outage arrives within the cap (plus a connect) of the broker's return."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Subscribe
from pydantic import ValidationError
from traffic import event, tls_dest

from edge.config.node import NodeConfig
from edge.config.transport import DestinationConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link.mqtt import MqttLink
from edge.outbox.message import Priority
from edge.outbox.store import Outbox

CAP_S = 3.0
MARGIN_S = 5.0


def test_reconnect_cap_defaults_to_10s_and_is_bounded(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair
) -> None:
    """The default cap is 10 s and the link uses it (no hard-coded 60 s): its delays double
    from 1 s, never exceed 10 s, and at the cap are jittered within [5, 10] s; the setting
    takes 1..600 s."""
    dest = tls_dest(broker, ca.ca_path, node_cert)
    assert dest.reconnect_max_s == 10.0
    link = MqttLink(dest, NodeConfig(id="n", site="s"), Outbox(tmp_path / "o.sqlite"))
    assert link.reconnect_max_s == 10.0
    delays = [link._backoff.next() for _ in range(200)]
    assert 0.5 <= delays[0] <= 1.0
    assert max(delays) <= 10.0
    at_cap = delays[10:]
    assert min(at_cap) >= 5.0 and max(at_cap) - min(at_cap) > 1.0  # jittered
    assert MqttLink(
        tls_dest(broker, ca.ca_path, node_cert, reconnect_max_s=CAP_S),
        NodeConfig(id="n", site="s"),
        Outbox(tmp_path / "o2.sqlite"),
    ).reconnect_max_s == pytest.approx(CAP_S)
    for bad in (0.5, 601):
        with pytest.raises(ValidationError, match="reconnect_max_s"):
            DestinationConfig.model_validate({**dest.model_dump(), "reconnect_max_s": bad})


def test_alarm_arrives_within_the_cap_after_the_broker_returns(
    tmp_path: Path, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """The broker is stopped long enough for the backoff to reach its cap (3 s here: waits
    of at most 1 + 2 s get there, it stays down 2 x cap + 3 s), an alarm is queued meanwhile,
    and the broker is restarted on the same ports: the alarm is acknowledged and reaches the
    police within cap + 5 s of the restart."""
    b = LocalBroker(tmp_path / "broker", ca, persistence=True)
    b.start()
    police = subscribe(client_id="recovery-watch", persistent=True, broker=b)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    dest = tls_dest(b, ca.ca_path, node_cert, reconnect_max_s=CAP_S)
    link = MqttLink(dest, NodeConfig(id="n", site="s"), outbox)
    link.start()
    try:
        assert link.wait_connected(10)
        b.stop()
        down = time.monotonic()
        deadline = down + 10
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not link.connected
        outbox.put(event(7, Priority.ALARM), ["police"])
        link.wake()
        while time.monotonic() - down < 2 * CAP_S + 3:  # the outage itself, not a wait
            time.sleep(0.1)
            assert outbox.total() == 1
        b.start()
        back = time.monotonic()
        promise = CAP_S + MARGIN_S
        acked = None
        while time.monotonic() - back < promise:
            if acked is None and outbox.total() == 0:
                acked = time.monotonic() - back
            if any(e["seq"] == 7 for e in police.events()):
                break
            time.sleep(0.02)
        arrived = time.monotonic() - back
        if acked is None and outbox.total() == 0:
            acked = arrived
        print(
            f"\nrecovery with reconnect_max_s={CAP_S:g}: outage {back - down:.1f} s, "
            f"PUBACK {acked if acked is None else round(acked, 2)} s and police "
            f"{arrived:.2f} s after the broker was back (promise {promise:g} s)"
        )
        assert any(e["seq"] == 7 for e in police.events()), f"not within {promise} s"
        assert arrived <= promise
    finally:
        link.shutdown()
        b.stop()
