"""Several receivers on one store keep one acknowledgement history: two receivers (two
stores, two keys, two data directories) acknowledging in turn and then all at once append
to one chain that verifies, each with its own registered key, an event contested by both
acknowledged once; acknowledgements stored before the chain existed are adopted into it
once. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dash import Fleet

from edge.evidence.keys import public_pem
from edge.receiver.ackaudit.verify import verify_chain
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.acks import Acks


@dataclass
class Pair:
    """Two receivers on one store."""

    a: ReceiverStore
    b: ReceiverStore
    acks_a: Acks
    acks_b: Acks
    fleet: Fleet
    dirs: tuple[Path, Path]


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pair]:
    """Receivers polda-a and polda-b, each with its data directory, on one database."""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    url = shared if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    dirs = (tmp_path / "rx-a", tmp_path / "rx-b")
    a, b = ReceiverStore(url, dirs[0]), ReceiverStore(url, dirs[1])
    try:
        acks_a = Acks(a.db, dirs[0], "polda-a", checkpoint_every=7)
        acks_b = Acks(b.db, dirs[1], "polda-b", checkpoint_every=7)
        yield Pair(a, b, acks_a, acks_b, Fleet(a), dirs)
    finally:
        a.close()
        b.close()


def _chain(store: ReceiverStore) -> list[dict[str, object]]:
    return [json.loads(r[0]) for r in store.db.query("SELECT record FROM ack_chain ORDER BY seq")]


def test_two_receivers_keep_one_chain_that_verifies(pair: Pair) -> None:
    """20 events acknowledged in turn (a, b, a, ...), then 20 more by two threads at once
    and 5 that both try: 45 acknowledgements, each once; one chain without a fork (every
    seq once, each record following the one before) that verifies from either receiver,
    with both keys registered and named, and with only the two keys pinned."""
    site, node = pair.fleet.node.site, pair.fleet.node.node
    events = [pair.fleet.event() for _ in range(45)]
    for n, event in enumerate(events[:20]):
        (pair.acks_a if n % 2 == 0 else pair.acks_b).acknowledge(site, node, event, "budi", "x")
    errors: list[BaseException] = []
    won: list[str] = []
    start = threading.Barrier(2)

    def run(acks: Acks, mine: list[str]) -> None:
        start.wait()
        for event in mine:
            try:
                if acks.acknowledge(site, node, event, f"officer-{acks.receiver}", "y"):
                    won.append(event)
            except BaseException as e:
                errors.append(e)

    contested = events[40:]
    threads = [
        threading.Thread(target=run, args=(pair.acks_a, events[20:40:2] + contested)),
        threading.Thread(target=run, args=(pair.acks_b, events[21:40:2] + contested)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(won) == sorted(events[20:])  # each contested event won by one of them
    records = _chain(pair.a)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(r["prev"] == p["hash"] for p, r in itertools.pairwise(records))
    writers = [r["receiver"] for r in records if r["action"] == "acknowledge"]
    assert len(writers) == 45 and writers[:4] == ["polda-a", "polda-b", "polda-a", "polda-b"]
    assert sum(r["action"] == "key_init" for r in records) == 2
    keys = (pair.acks_a.key(), pair.acks_b.key())
    for store, data in ((pair.a, pair.dirs[0]), (pair.b, pair.dirs[1])):
        check = verify_chain(store.db, data)
        assert check.ok, check.problems
        assert check.acks == 45 and check.records == len(records) and check.checkpoints >= 6
        assert set(check.keys) == {k.id for k in keys}
    pinned = verify_chain(pair.a.db, pair.dirs[0], [k.public for k in keys])
    assert pinned.ok and pinned.pinned, pinned.problems
    only_a = verify_chain(pair.a.db, pair.dirs[0], [keys[0].public])
    assert not only_a.ok  # b's checkpoints and heads are not a's
    registered = pair.a.db.query("SELECT key_id, receiver, public_key FROM receiver_keys")
    names = ("polda-a", "polda-b")
    expected = [(k.id, n, public_pem(k.public)) for k, n in zip(keys, names, strict=True)]
    assert sorted(registered) == sorted(expected)


def test_acknowledgements_from_before_the_chain_are_adopted_once(pair: Pair) -> None:
    """Rows an older receiver stored (with the hash of its file log's record) enter the
    chain at its start, marked adopted with their old hash; their rows then point at their
    new records and the chain verifies; later acknowledgements do not adopt again."""
    site, node = pair.fleet.node.site, pair.fleet.node.node
    old = [pair.fleet.event() for _ in range(2)]
    with pair.a.db.transaction() as cur:
        for n, event in enumerate(old):
            cur.execute("INSERT INTO acks (site, node, event_id, username, note, time,"
                        " audit_hash) VALUES (?, ?, ?, 'budi', 'old', ?, ?)",
                        (site, node, event, 1_700_000_000.5 + n, f"{n}" * 64))  # fmt: skip
    assert verify_chain(pair.a.db).problems  # rows without records until the chain starts
    pair.acks_a.acknowledge(site, node, pair.fleet.event(), "budi", "new")
    pair.acks_b.acknowledge(site, node, pair.fleet.event(), "budi", "newer")
    records = _chain(pair.a)
    adopted = [r for r in records if r.get("adopted")]
    assert [(r["id"], r["legacy_hash"], r["time"]) for r in adopted] == [
        (old[0], "0" * 64, 1_700_000_000.5), (old[1], "1" * 64, 1_700_000_001.5)
    ]  # fmt: skip
    assert sum(r["action"] == "acknowledge" for r in records) == 4
    check = verify_chain(pair.b.db, pair.dirs[1])
    assert check.ok and check.acks == 4, check.problems
