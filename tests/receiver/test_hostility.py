"""Bounded hostility: a flood of forged messages makes one forged_message alert per source
and reason with its count, and the quarantine stays within its cap, keeping each payload's
sha256, size and a prefix only, counting what it dropped. On both store engines; the last
test through a real mosquitto and a running receiver."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounded import PREFIX, checker, commit, dropped, engine_store, open_alerts, unsigned
from rx import count, enrol, publisher, receiver_toml
from timing import wait_until

from edge.bench.fleet import SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.bounds import Bounds
from edge.receiver.config import loads
from edge.receiver.messages import Rejected
from edge.receiver.service import Receiver
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore

TOPIC = f"{PREFIX}/semarang/gudang-01/events"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine with one enrolled node (semarang/gudang-01)."""
    with engine_store(tmp_path, request) as s:
        enrol(s, SimNode("semarang", "gudang-01"))
        yield s


def _flood(store: ReceiverStore, n: int, topic: str = TOPIC, size: int = 200) -> list[bytes]:
    """*n* distinct unsigned messages on *topic*, committed in batches of 500 (the
    receiver's batch_max); their payloads."""
    check = checker(store)
    payloads = [unsigned(i, size) for i in range(n)]
    batch = [check.check(topic, p, {}) for p in payloads]
    assert all(isinstance(v, Rejected) for v in batch)
    for first in range(0, n, 500):
        commit(store, batch[first : first + 500])
    return payloads


def test_2000_unsigned_messages_make_one_alert_and_a_bounded_quarantine(
    store: ReceiverStore,
) -> None:
    """2,000 distinct unsigned messages (and a 5 MB one) on a node's topic: one open
    forged_message alert of that node and reason counting 2,001, with first and last
    times; the quarantine holds its cap of 500 newest rows, each with the payload's sha256
    and size but only a 4 KiB prefix; the 1,501 dropped are counted."""
    store.bounds = Bounds(quarantine_rows=500, keep_bytes=4096)
    payloads = _flood(store, 2000, size=6000)
    big = b"\xff" * 5_000_000
    commit(store, [checker(store).check(TOPIC, big, {})])
    alerts = open_alerts(store, "forged_message")
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert (a["site"], a["node"], a["ref"], a["times"]) == ("semarang", "gudang-01", "unsigned",
                                                            2001)  # fmt: skip
    assert float(str(a["raised"])) <= float(str(a["last_raised"]))
    assert count(store, "quarantine") == 500
    assert dropped(store, "quarantine") == 1501
    rows = store.db.query("SELECT sha256, size, payload FROM quarantine ORDER BY seq")
    assert max(len(bytes(p)) for _, _, p in rows) <= 4096
    sha, size, prefix = rows[-1]
    assert (sha, size, bytes(prefix)) == (hashlib.sha256(big).hexdigest(), len(big), big[:4096])
    kept = {hashlib.sha256(p).hexdigest(): p for p in payloads}
    for sha, size, prefix in rows[:-1]:
        assert size == len(kept[sha]) and bytes(prefix) == kept[sha][:4096]
    summary = reads.quarantine_summary(store.db)
    assert summary["kept"] == 500 and summary["dropped"] == 1501
    assert summary["forged_alerts"] == 1 and summary["forged_messages"] == 2001
    assert reads.quarantine(store.db, limit=1)[0]["size"] == len(big)


def test_sources_and_reasons_are_counted_apart(store: ReceiverStore) -> None:
    """Unsigned messages of the enrolled node, of an unknown node and on a topic naming no
    node, and one signed by a stranger's key on the node's topic: one alert per source and
    reason, each with its own count."""
    _flood(store, 30)
    _flood(store, 20, f"{PREFIX}/solo/gudang-66/events")
    _flood(store, 10, "junk/level/deeper/still")
    stranger = SimNode("semarang", "gudang-01")  # the name, another key
    topic, payload, props = stranger.event("person")
    commit(store, [checker(store).check(f"{PREFIX}/semarang/gudang-01/{topic}", payload,
                                        dict(props))])  # fmt: skip
    got = {(a["site"], a["node"], a["ref"]): a["times"]
           for a in open_alerts(store, "forged_message")}  # fmt: skip
    assert got == {
        ("semarang", "gudang-01", "unsigned"): 30,
        ("solo", "gudang-66", "unsigned"): 20,
        ("", "junk/level", "unknown_topic"): 10,
        ("semarang", "gudang-01", "unknown_key"): 1,
    }


def test_a_new_window_opens_a_new_alert_and_closes_the_old(store: ReceiverStore) -> None:
    """Forged messages after the window (an hour by default) of the open alert: that one is
    closed with its count, a new one counts from 1."""
    _flood(store, 40)
    store.db.query("UPDATE alerts SET raised = raised - 7200 RETURNING seq")
    _flood(store, 3)
    every = reads.alerts(store.db, open_only=False)
    assert sorted((a["cleared"] is None, a["times"]) for a in every) == [(False, 40), (True, 3)]


def test_sources_beyond_the_cap_count_into_one_alert(store: ReceiverStore) -> None:
    """Unsigned messages naming 12 different nodes with a cap of 3 open alerts: 3 alerts of
    their own and one of source '*'; every message counted once."""
    store.bounds = Bounds(forged_max_sources=3)
    for i in range(12):
        _flood(store, 5, f"{PREFIX}/solo/ghost-{i:02d}/events")
    alerts = open_alerts(store, "forged_message")
    assert len(alerts) == 4
    assert sum(int(str(a["times"])) for a in alerts) == 60
    assert [a["times"] for a in alerts if a["node"] == "*"] == [45]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_running_receiver_takes_2000_unsigned_messages_as_one_alert(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, engine: str, request: pytest.FixtureRequest
) -> None:
    """2,000 distinct unsigned messages published to a running receiver (its config caps
    the quarantine at 300 rows of 1 KiB prefixes), then a signed event: the event is
    stored, one forged_message alert counts 2,000, the quarantine holds 300 and counts
    1,700 dropped."""
    prefix = "hostile-" + engine
    store = "sqlite" if engine == "sqlite" else str(request.getfixturevalue("pg_url"))
    text = receiver_toml(tmp_path / "rx", broker, ca, name=f"flood{engine}", store=store,
                         prefix=prefix)  # fmt: skip
    cfg = loads(text + "[quarantine]\nmax_rows = 300\nkeep_bytes = 1024\n")
    node = SimNode("semarang", "gudang-01")
    r = Receiver(cfg)
    enrol(r.store, node)
    r.start()
    pub = publisher(broker, ca, prefix)
    try:
        assert r.ingest.subscribed.wait(10)
        topic, _, _ = node.event("person")
        for i in range(2000):
            pub.publish(node, (topic, unsigned(i, 3000), ()))
        pub.publish(node, node.event("person"))
        assert pub.wait_acked(60)
        s = r.store
        assert wait_until(lambda: count(s, "events") == 1, 30)
        assert wait_until(lambda: dropped(s, "quarantine") == 1700, 30)
        assert count(s, "quarantine") == 300
        assert max(len(bytes(p)) for (p,) in s.db.query("SELECT payload FROM quarantine")) == 1024
        alerts = open_alerts(s, "forged_message")
        assert [(a["node"], a["ref"], a["times"]) for a in alerts] == [
            ("gudang-01", "unsigned", 2000)
        ]
    finally:
        pub.close()
        r.stop()
