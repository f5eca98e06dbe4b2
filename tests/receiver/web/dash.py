"""Helpers of the dashboard tests: a receiver config with the dashboard, a store filled the
way the receiver fills it (signed messages of a simulated node, checked and committed),
users, and a logged-in test client."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient

from edge.bench.fleet import SimNode, Wire
from edge.core.ids import new_id
from edge.receiver.clips import try_complete
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.messages import Accepted
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry
from edge.receiver.web.app import create_app
from edge.receiver.web.links import event_url, media_url
from edge.receiver.web.users import Users
from edge.wire import topics

PASSWORD = "correct horse battery"
PREFIX = "warehouse"


@pytest.fixture(name="store")
def sqlite_store(tmp_path: Path) -> Iterator[ReceiverStore]:
    """A SQLite store under tmp_path/rx: the ``store`` fixture of a test module that imports
    it (``from dash import sqlite_store``), for the dashboard tests that need one engine."""
    s = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    yield s
    s.close()


@pytest.fixture(name="store", params=["sqlite", "postgresql"])
def both_engines_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on each engine (SQLite, or a fresh database of the session's PostgreSQL), its
    files under tmp_path/rx: the ``store`` fixture of a test module that imports it."""
    url = (f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))  # fmt: skip
    s = ReceiverStore(url, tmp_path / "rx")
    yield s
    s.close()


@pytest.fixture(name="officer")
def officer_client(tmp_path: Path, store: ReceiverStore) -> Iterator[TestClient]:
    """A client logged in as an officer (budi), in the receiver's default language (Bahasa
    Indonesia): the ``officer`` fixture of a test module that imports it."""
    add_user(store, "budi", "officer")
    with client_for(web_config(tmp_path / "rx"), store) as c:
        assert login(c, "budi").status_code == 303
        yield c


def web_config(data_dir: Path, extra: str = "", http: str = "") -> ReceiverConfig:
    """A receiver config (no broker needed: the store is filled directly)."""
    return loads(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{data_dir}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
        f"{extra}\n[http]\n{http}\n"
    )


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A small JPEG."""
    image = np.zeros((height, width, 3), np.uint8)
    cv2.rectangle(image, (8, 8), (40, 40), (0, 200, 255), -1)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


def event_wire(node: SimNode, kind: str = "person", **fields: Any) -> tuple[str, Wire]:
    """A signed event of *node* with *fields* (clip_id, snapshot_id, incident, ...)."""
    event_id = new_id()
    body: dict[str, Any] = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": kind,
        "severity": "alarm" if kind in ("person", "door_open") else "info", "state": "start",
        "occurrence": event_id, "incident": None, "node": node.node, "site": node.site,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "clock_synced": True,
        "camera": "gudang-1", "sensor": None, "zones": ["lorong"], "data": {},
    }  # fmt: skip
    body.update(fields)
    payload = json.dumps(body, separators=(",", ":")).encode()
    return event_id, node._wire(topics.EVENTS, event_id, payload, ("kind", kind))


@dataclass
class Fleet:
    """A store with one enrolled simulated node and what was committed for it."""

    store: ReceiverStore
    node: SimNode = field(default_factory=lambda: SimNode("semarang", "gudang-07"))
    ids: dict[str, str] = field(default_factory=dict)
    """Ids a test keeps by name."""

    def __post_init__(self) -> None:
        self.store.enrol(self.node.site, self.node.node, self.node.key.pem)
        self.checker = Checker(Registry(self.store.identities()), PREFIX, max_clip_bytes=1 << 26)

    def commit(self, wires: list[Wire]) -> list[Accepted]:
        """Check and commit *wires* as the receiver does."""
        verdicts = []
        for topic, payload, props in wires:
            full = f"{PREFIX}/{self.node.site}/{self.node.node}/{topic}"
            verdicts.append(self.checker.check(full, payload, dict(props)))
        assert all(isinstance(v, Accepted) for v in verdicts), verdicts
        done = self.store.commit(verdicts)
        for key in done.clips:
            try_complete(self.store, key)
        return [v for v in verdicts if isinstance(v, Accepted)]

    def snapshot(self, data: bytes) -> str:
        """Commit a snapshot; its id."""
        sid = new_id()
        self.commit([self.node._wire(topics.snapshot(sid), f"snapshot/{sid}", data)])
        return sid

    def clip(self, path: Path) -> str:
        """Commit the clip file at *path* (manifest and chunks); its clip id."""
        wires = self.node.clip(path)
        self.commit(wires)
        rows = self.store.db.query(
            "SELECT clip_id FROM clips WHERE sha256 = ?",
            (hashlib.sha256(path.read_bytes()).hexdigest(),),
        )
        return str(rows[0][0])

    def event(self, kind: str = "person", **fields: Any) -> str:
        """Commit an event; its id."""
        event_id, wire = event_wire(self.node, kind, **fields)
        self.commit([wire])
        return event_id

    def url(self, event_id: str, action: str = "alerts") -> str:
        """The dashboard path of this node's event *event_id* (``alerts``: its page, ``ack``,
        ``evidence``)."""
        return event_url(self.node.site, self.node.node, event_id, action)

    def media(self, kind: str, sha256: str) -> str:
        """The dashboard path of this node's clip or snapshot *sha256*."""
        return media_url(kind, self.node.site, self.node.node, sha256)


def add_user(store: ReceiverStore, name: str, role: str, password: str = PASSWORD) -> None:
    """Add a dashboard user."""
    Users(store.db).add(name, role, password)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's form."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match[1]


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    """Log *client* in through the form; the final response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )


@contextmanager
def client_for(cfg: ReceiverConfig, store: ReceiverStore) -> Iterator[TestClient]:
    """A test client on the dashboard of *store* (https when the config has TLS)."""
    scheme = "https" if cfg.http.tls else "http"
    with TestClient(create_app(cfg, store), base_url=f"{scheme}://testserver") as c:
        yield c


def bulk_events(store: ReceiverStore, site: str, node: str, n: int) -> None:
    """*n* stored events of *site*/*node* in one transaction (straight SQL: a big list
    without signing each)."""
    now = time.time()
    rows = []
    for i in range(n):
        event_id = f"bulk-{i:06d}"
        payload = json.dumps({"id": event_id, "kind": "motion", "zones": ["lorong"]})
        when = "2026-01-01T00:00:00Z"
        rows.append((site, node, event_id, "motion", "info", "instant", "gudang-1",
                     None, None, None, None, when, now - n + i, payload))  # fmt: skip
    with store.db.transaction() as cur:
        cur.executemany(
            "INSERT INTO events (site, node, id, kind, severity, state, camera, sensor,"
            " incident, clip_id, snapshot_id, time, received, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
