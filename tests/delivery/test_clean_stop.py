"""A link stopped while the broker is still acknowledging its messages says ``offline``
once: its own status, acknowledged, then a DISCONNECT the broker reads (so it drops the
will), never the status and the will. Before, paho closed the socket right after writing
the DISCONNECT; with a PUBACK unread in it the kernel sent a reset instead of a FIN and
mosquitto lost the DISCONNECT (about one stop in 10 with traffic in flight)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Subscribe
from traffic import event, tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.demo.subscriber import Received
from edge.link.mqtt import MqttLink
from edge.outbox.store import Outbox

ROUNDS = 20
MESSAGES = 600
"""Queued before each start: the link is still sending when it is stopped."""


def _offlines(msgs: list[Received]) -> dict[str, list[str]]:
    """The causes of each node's ``offline`` statuses, by node."""
    out: dict[str, list[str]] = {}
    for m in msgs:
        if m.topic.endswith("/status") and m.json()["state"] == "offline":
            out.setdefault(m.topic.split("/")[2], []).append(str(m.json().get("cause")))
    return out


def _left_at_most(outbox: Outbox, n: int) -> Callable[[list[Received]], bool]:
    """A condition: at most *n* messages are left in *outbox* (the rest acknowledged)."""
    return lambda _msgs: outbox.total() <= n


@pytest.mark.slow
@pytest.mark.faults
def test_a_link_stopped_with_acks_in_flight_says_offline_once(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """20 links (will published at once: ``will_delay_s = 0``), each stopped while it sends
    600 queued events, at a moment that moves from round to round: each node's statuses end
    in exactly one ``offline``, its own (``stopped``); no will."""
    police = subscribe("cleanstop/#", client_id="cleanstop-watch")
    for r in range(ROUNDS):
        dest = tls_dest(broker, ca.ca_path, node_cert, topic_prefix="cleanstop", will_delay_s=0)
        outbox = Outbox(tmp_path / f"n{r}.sqlite")
        outbox.put_many([event(i) for i in range(MESSAGES)], ["police"])
        link = MqttLink(dest, NodeConfig(id=f"n{r}", site="s"), outbox)
        link.start()
        try:
            assert link.wait_connected(10)
            sent = MESSAGES - 20 * (r % 10)  # stopped after 0 to 180 acknowledged
            assert police.wait_for(_left_at_most(outbox, sent), 20)
        finally:
            link.stop()
            assert link.join(10)
            outbox.close()
    nodes = {f"n{r}" for r in range(ROUNDS)}
    assert police.wait_for(lambda m: set(_offlines(m)) == nodes, 10), _offlines(police.messages)
    wills = lambda m: any(c != ["stopped"] for c in _offlines(m).values())  # noqa: E731
    assert not police.wait_for(wills, 2), _offlines(police.messages)
    print(f"{ROUNDS} stops with messages in flight: {len(nodes)} offline statuses, no will")
