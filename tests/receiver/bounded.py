"""Helpers of the bounded-hostility and evidence tests: a store on either engine, messages
checked as the receiver checks them, and the store's counters."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.bench.fleet import SimNode, Wire
from edge.receiver.clips import try_complete
from edge.receiver.messages import Verdict
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry

PREFIX = "warehouse"


@contextmanager
def engine_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on the engine *request* names (``sqlite`` or ``postgresql``: a fresh
    database of the session's PostgreSQL); its files under tmp_path/rx."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'receiver.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    store = ReceiverStore(url, tmp_path / "rx")
    try:
        yield store
    finally:
        store.close()


def checker(store: ReceiverStore) -> Checker:
    """A checker with the store's enrolled keys, as the receiver has one."""
    return Checker(Registry(store.identities()), PREFIX, max_clip_bytes=1 << 26)


def verdicts(store: ReceiverStore, node: SimNode, wires: Sequence[Wire]) -> list[Verdict]:
    """*node*'s messages checked as the receiver checks them."""
    check = checker(store)
    return [
        check.check(f"{PREFIX}/{node.site}/{node.node}/{topic}", payload, dict(props))
        for topic, payload, props in wires
    ]


def commit(store: ReceiverStore, batch: Sequence[Verdict]) -> None:
    """Commit *batch* and assemble what it completed, as the receiver's writer does."""
    done = store.commit(batch)
    for key in sorted(done.clips):
        try_complete(store, key)


def unsigned(i: int, size: int = 200) -> bytes:
    """The *i*-th distinct unsigned event payload, about *size* bytes."""
    body = {"id": f"forged-{i}", "kind": "person", "pad": ""}
    text = json.dumps(body)
    body["pad"] = "x" * max(0, size - len(text))
    return json.dumps(body).encode()


def dropped(store: ReceiverStore, what: str) -> int:
    """The store's counter of *what* it dropped (0: nothing yet)."""
    rows = store.db.query("SELECT count FROM dropped WHERE what = ?", (what,))
    return int(rows[0][0]) if rows else 0


def open_alerts(store: ReceiverStore, kind: str) -> list[dict[str, object]]:
    """The open receiver alerts of *kind*."""
    from edge.receiver.store import reads

    return [a for a in reads.alerts(store.db, limit=10_000) if a["kind"] == kind]
