"""Replacing a node's key, end to end on each store engine: a real ``edge receive`` process
behind a real broker, the real command line for enrolment, the dashboard on the same store.
What the old key signed stays verifiable (detail page, ``show``, the evidence zip checked
with openssl); what it signs after the replacement is quarantined, queued or not; the
replacement is refused without ``--replace`` and audited with it."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bundlecheck import check_bundle
from rx import publisher, receiver_toml
from rxproc import RxProcess
from starlette.testclient import TestClient
from timing import wait_until

from edge.bench.fleet import Publisher, SimNode, Wire
from edge.core.ids import new_id
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.app import create_app
from edge.receiver.web.users import Users
from edge.wire import topics

REASON = "board replaced after water damage, ticket 4411"
PASSWORD = "correct horse battery"


@dataclass
class Rig:
    """A receiver process, its config, a publisher and a store opened on the same data."""

    conf: Path
    data: Path
    rx: RxProcess
    pub: Publisher
    store: ReceiverStore

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``edge receive -c CONF ARGS`` as its own process."""
        command = [sys.executable, "-m", "edge", "receive", "-c", str(self.conf), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def enrol(self, node: SimNode, *options: str) -> subprocess.CompletedProcess[str]:
        """Enrol *node*'s key from its export (``edge keys export --json``) file."""
        export = self.data.parent / f"{node.key.id}.json"
        export.write_text(json.dumps({"node": node.node, "site": node.site,
                                      "public_key_pem": node.key.pem}))  # fmt: skip
        return self.cli("enrol", f"{node.site}/{node.node}", str(export), *options)

    def send(self, node: SimNode, *wires: Wire) -> None:
        """Publish and wait for the broker's acknowledgement."""
        for w in wires:
            self.pub.publish(node, w)
        assert self.pub.wait_acked()

    def stored(self, event_id: str) -> bool:
        """Is the event in the store?"""
        return bool(self.store.db.query("SELECT 1 FROM events WHERE id = ?", (event_id,)))

    def quarantined(self, event_id: str) -> list[tuple[Any, ...]]:
        """Quarantine rows (reason, detail) of the message with *event_id*."""
        return self.store.db.query("SELECT reason, detail FROM quarantine WHERE id = ?",
                                   (event_id,))  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, request: pytest.FixtureRequest
) -> Iterator[Rig]:
    """A receiver process on each engine (its own topic prefix and client id), not started."""
    url = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    name = "rekey" + "".join(c for c in tmp_path.name.lower() if c.isalnum())[-30:]
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(data, broker, ca, name=name, store=url, prefix=name))
    store_url = f"sqlite:///{data / 'receiver.db'}" if url == "sqlite" else url
    r = Rig(conf, data, RxProcess(conf, tmp_path / "rx.log"), publisher(broker, ca, name),
            ReceiverStore(store_url, data))  # fmt: skip
    try:
        yield r
    finally:
        r.rx.stop()
        r.pub.close()
        r.store.close()


def event(node: SimNode, **fields: Any) -> tuple[str, Wire]:
    """A signed event of *node* (with *fields*, e.g. its clip_id); its id and the wire."""
    event_id = new_id()
    body = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": "person",
        "severity": "alarm", "state": "start", "occurrence": event_id, "incident": None,
        "node": node.node, "site": node.site, "clock_synced": True, "camera": "gudang-1",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sensor": None,
        "zones": ["lorong"], "data": {}, **fields,
    }  # fmt: skip
    payload = json.dumps(body, separators=(",", ":")).encode()
    return event_id, node._wire(topics.EVENTS, event_id, payload, ("kind", "person"))


def _officer(client: TestClient, store: ReceiverStore) -> None:
    """Log *client* in as an officer through the login form."""
    Users(store.db).add("budi", "officer", PASSWORD)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf
    r = client.post("/login", data={"username": "budi", "password": PASSWORD, "csrf": csrf[1]},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303


def _link(page: str, pattern: str) -> str:
    """The first link *pattern* (a regex with one group) finds in *page*."""
    match = re.search(pattern, page, re.S)
    assert match, page[:3000]
    return match[1]


def test_a_replaced_key_keeps_its_evidence_and_signs_nothing_new(rig: Rig, tmp_path: Path) -> None:
    """Key A signs a clip and its event (stored); a different key without --replace is
    refused in one line; --replace --reason replaces it (audited: who, when, old, new, why;
    a log line); A's clip still verifies on the detail page, in ``show`` and in its evidence
    zip (openssl, with A inside); A's next message is quarantined, B's are stored."""
    a = SimNode("semarang", "gudang-01")
    b = SimNode(a.site, a.node)
    assert rig.enrol(a, "--reason", "first enrolment").returncode == 0
    rig.rx.start()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(bytes(range(256)) * 600)
    wires = a.clip(clip, chunk_size=50_000)
    clip_id = next(t.split("/")[1] for t, _, _ in wires if t.endswith("/manifest"))
    old, wire = event(a, clip_id=clip_id)
    rig.send(a, *wires, wire)
    done = "SELECT state FROM clips WHERE clip_id = ?"
    assert wait_until(lambda: rig.store.db.query(done, (clip_id,)) == [("complete",)], 20)
    assert wait_until(lambda: rig.stored(old), 20)

    refused = rig.enrol(b)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert f"already has key {a.key.id}" in refused.stderr and "--replace" in refused.stderr
    replaced = rig.enrol(b, "--replace", "--reason", REASON)
    assert replaced.returncode == 0, replaced.stderr
    assert f"replaced semarang/gudang-01 key {a.key.id} by key {b.key.id}" in replaced.stdout
    assert "receiver.key_replaced" in replaced.stderr  # the log line
    again = rig.enrol(b)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    (audit,) = rig.store.db.query(
        "SELECT username, time, old_key_id, new_key_id, reason FROM key_replacements"
        " WHERE site = ? AND node = ?",
        (a.site, a.node),
    )
    assert audit[0] == getpass.getuser() and audit[2:] == (a.key.id, b.key.id, REASON)
    replaced_at = float(audit[1])

    fresh, wire = event(b)
    rig.send(b, wire)
    assert wait_until(lambda: rig.stored(fresh), 20), rig.rx.tail()
    late, wire = event(a)
    rig.send(a, wire)
    assert wait_until(lambda: rig.quarantined(late), 20), rig.rx.tail()
    ((reason, detail),) = rig.quarantined(late)
    assert reason == "expired_key" and f"key {a.key.id}" in detail and "replaced" in detail
    assert not rig.stored(late)
    more, wire = event(b)
    rig.send(b, wire, b.heartbeat())
    assert wait_until(lambda: rig.stored(more), 20)

    shown = rig.cli("show", old, "--json")
    assert shown.returncode == 0, shown.stderr
    check = json.loads(shown.stdout)["verification"]
    assert check["ok"] is True and check["key"]["key_id"] == a.key.id, check
    assert check["key"]["replaced_by"] == b.key.id and check["key"]["valid_until"]
    assert check["key"]["reason"] == "first enrolment"

    cfg = loads(rig.conf.read_text())
    with TestClient(create_app(cfg, rig.store), base_url="http://testserver") as client:
        _officer(client, rig.store)
        listed = client.get("/alerts").text
        detail = client.get(_link(listed, rf'data-event="{old}".*?href="([^"]+)"')).text
        assert "OK: the Ed25519 signature holds" in detail and "not verified" not in detail
        assert a.key.id in detail  # and the key that replaced it, in either language:
        assert re.search(rf'id="signing-key">[^<]*\b{b.key.id}\b', detail)
        assert "first enrolment" in detail
        bundle = client.get(_link(detail, r'id="evidence" href="([^"]+)"'))
        assert bundle.status_code == 200
    enrolment = check_bundle(bundle.content, tmp_path / "bundle")
    assert enrolment["key_id"] == a.key.id and enrolment["valid_until"] == replaced_at
    assert enrolment["replaced_by"] == b.key.id
    assert enrolment["public_key_pem"] == a.key.pem


def test_messages_queued_across_a_replacement_are_refused(rig: Rig) -> None:
    """The documented contract: what the old key signed and the broker queued while the
    receiver was down, delivered after the replacement, is quarantined (``expired_key``);
    the new key's messages are stored."""
    a = SimNode("solo", "gudang-02")
    b = SimNode(a.site, a.node)
    assert rig.enrol(a).returncode == 0
    rig.rx.start()
    first, wire = event(a)
    rig.send(a, wire)
    assert wait_until(lambda: rig.stored(first), 20)
    rig.rx.stop()
    queued, wire = event(a)
    rig.send(a, wire)  # the broker keeps it for the receiver's session
    assert rig.enrol(b, "--replace", "--reason", "key may have leaked").returncode == 0
    rig.rx.start()
    assert wait_until(lambda: rig.quarantined(queued), 20), rig.rx.tail()
    assert [r[0] for r in rig.quarantined(queued)] == ["expired_key"]
    fresh, wire = event(b)
    rig.send(b, wire)
    assert wait_until(lambda: rig.stored(fresh), 20)
    assert rig.stored(first) and not rig.stored(queued)
