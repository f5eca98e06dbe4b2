"""Storing a batch when one message of it cannot be stored: the store's own errors, past
every check (a message the schema would refuse is forced in here), on SQLite and
PostgreSQL. The batch stays one transaction when it can; a data error finds the culprit
alone and quarantines it (``store_error``, payload kept); a database that is away is waited
for and nothing is quarantined."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg import PgServer
from timing import wait_until

from edge.bench.fleet import SimNode
from edge.receiver.commits import Committer, is_outage
from edge.receiver.messages import Accepted, Verdict
from edge.receiver.store.database import StoreError
from edge.receiver.store.store import ReceiverStore
from edge.receiver.store.writes import Committed
from edge.receiver.trust import Checker, Identity, Registry

NODE = SimNode("semarang", "gudang-01")


class CountingStore(ReceiverStore):
    """A store that counts its commit transactions."""

    def __init__(self, url: str, data_dir: Path) -> None:
        super().__init__(url, data_dir)
        self.transactions = 0

    def commit(self, batch: Sequence[Verdict], *, queue_limit: int = 1000) -> Committed:
        """Count, then commit."""
        self.transactions += 1
        return super().commit(batch, queue_limit=queue_limit)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CountingStore]:
    """A store with NODE enrolled, on each engine."""
    url = (f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))  # fmt: skip
    s = CountingStore(url, tmp_path / "rx")
    s.enrol(NODE.site, NODE.node, NODE.key.pem)
    yield s
    s.close()


def _events(n: int) -> list[Accepted]:
    """*n* events of NODE, checked as the receiver checks them."""
    checker = Checker(Registry([Identity(NODE.node, NODE.site, NODE.key.pem)]), "warehouse",
                      max_clip_bytes=1 << 20)  # fmt: skip
    out = []
    for i in range(n):
        topic, payload, props = NODE.event("person", n=i)
        v = checker.check(f"warehouse/{NODE.site}/{NODE.node}/{topic}", payload, dict(props))
        assert isinstance(v, Accepted), v
        out.append(v)
    return out


def _committer(store: ReceiverStore) -> Committer:
    return Committer(store, threading.Event(), lambda: None, queue_limit=1000)


POISON: dict[str, dict[str, Any]] = {
    "lone surrogate": {"data": {"camera": "gudang-\ud800"}},
    "NUL in text": {"data": {"camera": "a\x00b"}},
    "payload not UTF-8": {"payload": b"\xff\xfe{}"},
}


@pytest.mark.parametrize("kind", sorted(POISON))
def test_a_poison_message_is_quarantined_alone_and_the_batch_stored(
    store: CountingStore, kind: str
) -> None:
    """10 good events, one poisoned past the checks, 11 good: the 21 are stored; the poison
    (where the engine refuses it: PostgreSQL refuses NUL in text, SQLite takes it) is
    quarantined as store_error with its payload and the error's class."""
    good = _events(22)
    base = good.pop(10)
    change = POISON[kind]
    data = {**base.data, **change.get("data", {})}
    bad = dataclasses.replace(base, data=data, payload=change.get("payload", base.payload))
    batch: list[Verdict] = [*good[:10], bad, *good[10:]]
    done = _committer(store).commit(batch)
    assert done is not None
    refused = not (kind == "NUL in text" and store.db.engine == "sqlite")
    assert done.stored == (21 if refused else 22)
    rows = store.db.query("SELECT reason, detail, payload FROM quarantine")
    if refused:
        assert len(rows) == 1
        reason, detail, payload = rows[0]
        assert reason == "store_error"
        names = ("UnicodeEncodeError", "UnicodeDecodeError", "CharacterNotInRepertoire")
        assert detail.split(":")[0] in names, detail  # the error's class, then its text
        assert bytes(payload) == bad.payload
    else:
        assert rows == []
    assert store.db.query("SELECT COUNT(*) FROM events")[0][0] == done.stored


def test_a_good_batch_is_one_transaction(store: CountingStore) -> None:
    """The common case stays batched: 300 events, one commit."""
    done = _committer(store).commit(list(_events(300)))
    assert done is not None and done.stored == 300
    assert store.transactions == 1


def test_errors_are_told_apart_by_class() -> None:
    """The database away (wait): SQLite OperationalError (locked, disk full), a corrupt
    file, psycopg OperationalError, a failed reconnect, an OS error. A message's data
    (find it): SQLite InterfaceError/ProgrammingError/IntegrityError/DataError, psycopg
    DataError/ProgrammingError/IntegrityError, UnicodeEncodeError, any other bug."""
    away = [sqlite3.OperationalError("database or disk is full"),
            sqlite3.DatabaseError("database disk image is malformed"),
            psycopg.OperationalError("connection refused"), psycopg.InterfaceError("closed"),
            StoreError("cannot connect"), OSError(28, "No space left on device")]  # fmt: skip
    data = [sqlite3.InterfaceError("bind"), sqlite3.ProgrammingError("bind"),
            sqlite3.IntegrityError("unique"), sqlite3.DataError("too big"),
            psycopg.DataError("NUL"), psycopg.ProgrammingError("x"),
            psycopg.IntegrityError("x"),
            UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
            KeyError("x"), TypeError("x")]  # fmt: skip
    assert all(is_outage(e) for e in away)
    assert not any(is_outage(e) for e in data)


@pytest.mark.slow
def test_postgresql_down_is_waited_for_and_nothing_quarantined(tmp_path: Path) -> None:
    """PostgreSQL stopped while a batch waits: the committer tries again with backoff
    (failures counted, nothing quarantined), and once it is back stores the whole batch."""
    with PgServer() as pg:
        s = ReceiverStore(pg.url, tmp_path / "rx")
        s.enrol(NODE.site, NODE.node, NODE.key.pem)
        c = _committer(s)
        pg.stop()
        result: list[Committed | None] = []
        t = threading.Thread(target=lambda: result.append(c.commit(list(_events(50)))))
        t.start()
        assert wait_until(lambda: c.failures >= 2, 20)
        pg.start()
        t.join(60)
        assert result and result[0] is not None and result[0].stored == 50
        assert c.poisoned == 0
        assert s.db.query("SELECT COUNT(*) FROM quarantine")[0][0] == 0
        s.close()
