"""A refused sub-topic holds only its own kind: mosquitto's ACL denies the node
``snapshots/#`` (MQTT 5 PUBACK 0x87), and clips (the same outbox class) and events still
go; the snapshots wait, in order, and follow once the ACL allows them. The red team saw one
denied snapshot hold every clip."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Subscribe
from timing import wait_until
from traffic import tls_dest

from edge.config.node import NodeConfig
from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA
from edge.link.linkstats import LinkStats
from edge.link.mqtt import MqttLink
from edge.link.refusals import Refusals
from edge.outbox.message import OutboxMessage, Priority
from edge.outbox.store import Outbox
from edge.wire import topics

pytestmark = pytest.mark.faults

NODE = "lanes"


def acl(*, snapshots: bool) -> str:
    """The node (CN test-node) may write its status, health, events and clips, and its
    snapshots only when *snapshots*; the police read everything."""
    root = f"warehouse/s/{NODE}"
    rules = ["user test-node"]
    rules += [f"topic write {root}/{t}" for t in ("status", "health", "events", "clips/#")]
    if snapshots:
        rules.append(f"topic write {root}/snapshots/#")
    return "\n".join([*rules, "", "user police-test", "topic read warehouse/#", ""])


@pytest.fixture
def acl_broker(tmp_path: Path, ca: DemoCA) -> Iterator[LocalBroker]:
    """A mosquitto of its own denying the node its snapshots."""
    b = LocalBroker(tmp_path / "acl-broker", ca, acl=acl(snapshots=False))
    b.start()
    yield b
    b.stop()


def _snapshot(n: int) -> OutboxMessage:
    sid = f"snap-{n}"
    return OutboxMessage(sid, Priority.CLIP, "snapshot", topics.snapshot(sid), b"\xff\xd8jpeg",
                         time.time(), properties=(("camera", "hall"),))  # fmt: skip


def _clip_part(n: int) -> OutboxMessage:
    body = json.dumps({"clip": "c1", "n": n}).encode()
    return OutboxMessage(f"c1/{n:05d}", Priority.CLIP, "clip", topics.clip_chunk("c1", n),
                         body, time.time())  # fmt: skip


def _event(n: int) -> OutboxMessage:
    body = json.dumps({"seq": n, "kind": "person"}).encode()
    return OutboxMessage(f"ev-{n}", Priority.EVENT, "person", "events", body, time.time())


def test_the_book_holds_a_lane_not_a_class(tmp_path: Path) -> None:
    """A refused snapshot holds the later snapshots only: clips of the same class are
    offered, and the refusal's words name the lane."""
    outbox = Outbox(tmp_path / "o.sqlite")
    stats = LinkStats()
    book = Refusals("police", stats, lambda t: f"warehouse/s/n/{t}")
    outbox.put_many([_snapshot(1), _clip_part(0), _snapshot(2), _clip_part(1)], ["police"])
    head = outbox.pending("police", 1)[0]
    book.refused(head, 0x87, "Not authorized", now=0.0)
    offered = book.pending(outbox, "police", 10, skip=(), max_priority=None)
    assert [p.message.id for p in offered] == ["c1/00000", "c1/00001"]
    assert book.blocked(Priority.CLIP, "snapshots") and not book.blocked(Priority.CLIP, "clips")
    assert "on snapshots wait behind it" in (stats.delivery_error or "")


def test_a_denied_snapshot_topic_holds_snapshots_only(
    tmp_path: Path, acl_broker: LocalBroker, ca: DemoCA, node_cert: CertPair, subscribe: Subscribe
) -> None:
    """Real mosquitto, ACL without ``snapshots/#``: the clip's parts and the events after
    the refused snapshots arrive; the snapshots stay queued (refused, reported); once the
    ACL allows them (SIGHUP) they arrive in order on the same connection."""
    police = subscribe(broker=acl_broker)
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put_many([_snapshot(1), _snapshot(2)], ["police"])
    outbox.put_many([_clip_part(n) for n in range(3)], ["police"])
    outbox.put_many([_event(n) for n in range(2)], ["police"])
    dest = tls_dest(acl_broker, ca.ca_path, node_cert)
    link = MqttLink(dest, NodeConfig(id=NODE, site="s"), outbox, refusal_retry_max_s=2.0)
    link.start()
    try:
        assert link.wait_connected(10)

        def arrived(part: str) -> list[str]:
            return [m.topic.split(f"/{NODE}/", 1)[1] for m in police.messages if part in m.topic]

        assert wait_until(lambda: len(arrived("/clips/")) == 3 and len(arrived("/events")) == 2,
                          10)  # fmt: skip
        assert arrived("/clips/") == [f"clips/c1/{n}" for n in range(3)]
        assert wait_until(lambda: link.stats.refusals["Not authorized"] >= 2, 10)
        assert arrived("/snapshots/") == []
        assert wait_until(lambda: outbox.depth()["police"] == {"clip": 2}, 5)  # the snapshots
        assert "snapshots" in (link.stats.delivery_error or "")
        acl_broker.reload_acl(acl(snapshots=True))
        assert wait_until(lambda: len(arrived("/snapshots/")) == 2, 15)
        assert arrived("/snapshots/") == ["snapshots/snap-1", "snapshots/snap-2"]
        assert wait_until(lambda: link.stats.delivery_error is None, 5)
        assert link.stats.connects == 1
    finally:
        link.shutdown()
