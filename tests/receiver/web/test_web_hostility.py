"""The dashboard and the receiver's own alerts, and events addressed by (site, node, id):
forged messages, corrupt and incomplete clips, offline and degraded nodes are listed above
the events and on the fleet board (with the quarantine's figures); an event whose id holds
``/`` opens, acknowledges and bundles; one id on three nodes opens three events. On both
store engines."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from dash import (
    PREFIX,
    Fleet,
    both_engines_store,  # noqa: F401 (the store fixture)
    csrf_of,
    jpeg,
    officer_client,  # noqa: F401 (the officer fixture)
)
from starlette.testclient import TestClient

from edge.bench.fleet import SimNode, Wire
from edge.receiver.alerts import AlertKind, AlertOp
from edge.receiver.bounds import Bounds
from edge.receiver.clips import expire
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.links import event_url
from edge.wire import topics

CLIP = bytes(range(256)) * 40


def _event(node: SimNode, event_id: str, kind: str = "person", **fields: Any) -> Wire:
    """A signed event of *node* with the id *event_id*."""
    body: dict[str, Any] = {
        "schema": "warehouse-edge/event/1", "id": event_id, "kind": kind, "severity": "alarm",
        "state": "start", "occurrence": event_id, "incident": None, "node": node.node,
        "site": node.site, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clock_synced": True, "camera": "gudang-1", "sensor": None, "zones": ["lorong"],
        "data": {},
    }  # fmt: skip
    body.update(fields)
    payload = json.dumps(body, separators=(",", ":")).encode()
    return node._wire(topics.EVENTS, event_id, payload, ("kind", kind))


def _forge(f: Fleet, topic: str, n: int) -> None:
    """*n* distinct unsigned messages on *topic*, checked and committed."""
    batch = [f.checker.check(topic, json.dumps({"n": i}).encode(), {}) for i in range(n)]
    f.store.commit(batch)


def _rows(html: str, table: str) -> list[dict[str, str]]:
    """The data-* attributes of the rows of table *table* (by id) in *html*."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [dict(re.findall(r'data-([a-z]+)="([^"]*)"', tr))
            for tr in re.findall(r"<tr [^>]*data-kind[^>]*>", body)]  # fmt: skip


def test_the_receivers_alerts_are_listed_and_on_the_fleet_board(
    store: ReceiverStore, officer: TestClient, tmp_path: Path
) -> None:
    """forged_message (25 unsigned messages on a node's topic: one alert counting 25, and 3
    on a topic naming no node), clip_corrupt, clip_incomplete, node_degraded and
    node_offline: each in the receiver alerts above the event list and in its JSON; on
    the fleet board under its node, with the forged count, the quarantine's kept and
    dropped figures (cap 10), and the source that is no node."""
    store.bounds = Bounds(quarantine_rows=10)
    a = Fleet(store)
    b = Fleet(store, node=SimNode("solo", "gudang-09"))
    _forge(a, f"{PREFIX}/semarang/gudang-07/events", 25)
    _forge(a, "junk/x/y", 3)
    (tmp_path / "a.mp4").write_bytes(CLIP)
    (tmp_path / "b.mp4").write_bytes(CLIP[::-1])
    good = a.node.clip(tmp_path / "a.mp4", chunk_size=4096)
    clip_id = good[0][0].split("/")[1]
    bad = a.node.clip(tmp_path / "b.mp4", chunk_size=4096, clip_id=clip_id)
    a.commit([good[0], *bad[1:]])  # the signed manifest of one file, the chunks of another
    half = a.node.clip(tmp_path / "a.mp4", chunk_size=4096)
    a.commit(half[:2])
    expire(store, 0)
    b.commit([b.node.heartbeat(reasons=["camera_fault:gudang-1"])])
    store.alerts([AlertOp(True, AlertKind.NODE_OFFLINE, "solo", "gudang-09", "", "silent")])
    page = officer.get("/alerts").text
    listed = {(r["kind"], r["node"]): r["times"] for r in _rows(page, "receiver-alerts")}
    assert listed == {
        ("forged_message", "gudang-07"): "25", ("forged_message", "junk/x"): "3",
        ("clip_corrupt", "gudang-07"): "1", ("clip_incomplete", "gudang-07"): "1",
        ("node_degraded", "gudang-09"): "1", ("node_offline", "gudang-09"): "1",
    }  # fmt: skip
    api = officer.get("/api/receiver_alerts").json()
    assert sorted(x["kind"] for x in api) == sorted(k for k, _ in listed)
    board = officer.get("/fleet/board").text
    assert 'data-kept="10" data-dropped="18" data-forged="28"' in board
    row = re.search(r'id="node-semarang-gudang-07".*?</tr>', board, re.S)
    assert row is not None and 'data-forged="25"' in row[0]
    for kind in ("forged_message", "clip_corrupt", "clip_incomplete"):
        assert kind in row[0]
    row = re.search(r'id="node-solo-gudang-09".*?</tr>', board, re.S)
    assert row is not None and "state-offline" in board and "node_degraded" in row[0]
    assert [r["node"] for r in _rows(board, "receiver-alerts")] == ["junk/x"]
    assert 'data-forged="28"' in officer.get("/fleet").text
    nodes = {n["node"]: n for n in officer.get("/api/nodes").json()}
    assert nodes["gudang-07"]["forged"] == 25 and "clip_corrupt" in nodes["gudang-07"]["alerts"]


def test_an_id_holding_slashes_and_one_id_on_three_nodes_open_their_own_events(
    store: ReceiverStore, officer: TestClient, tmp_path: Path
) -> None:
    """An event id with '/' (and one with '/../') opens from the list's link and from the
    plain path, plays its clip, bundles its evidence and is acknowledged alone; the same id
    on semarang/gudang-07, solo/gudang-07 and semarang/gudang-08 opens three events, each
    acknowledged apart; a node without it answers 404."""
    a = Fleet(store)
    b = Fleet(store, node=SimNode("solo", "gudang-07"))
    c = Fleet(store, node=SimNode("semarang", "gudang-08"))
    (tmp_path / "clip.mp4").write_bytes(CLIP)
    slashed, dotted, shared = "2026/12/inc-7/a.1", "x/../y", "0193aaaa-0000-7000-8000-000000000001"
    a.commit([_event(a.node, slashed, clip_id=a.clip(tmp_path / "clip.mp4"),
                     snapshot_id=a.snapshot(jpeg()))])  # fmt: skip
    a.commit([_event(a.node, dotted, "door_open")])
    for f, kind in ((a, "person"), (b, "door_open"), (c, "motion")):
        f.commit([_event(f.node, shared, kind)])
    listing = officer.get("/alerts").text
    href = event_url("semarang", "gudang-07", slashed)
    assert href == "/alerts/semarang/gudang-07/2026%2F12%2Finc-7%2Fa.1" and href in listing
    for url in (href, f"/alerts/semarang/gudang-07/{slashed}"):
        page = officer.get(url)
        assert page.status_code == 200 and f"<code>{slashed}</code>" in page.text
    detail = officer.get(href).text
    media = re.findall(r'src="(/media/[^"]+)"', detail)
    assert len(media) == 2 and all(officer.get(m).status_code == 200 for m in media)
    z = officer.get(event_url("semarang", "gudang-07", slashed, "evidence"))
    assert z.status_code == 200 and "clip.mp4" in zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert officer.get(f"/evidence/semarang/gudang-07/{slashed}").status_code == 200
    assert "<code>x/../y</code>" in officer.get(event_url("semarang", "gudang-07", dotted)).text
    action = re.search(r'<form method="post" action="([^"]+)" class="ack">', detail)
    assert action is not None and action[1] == event_url("semarang", "gudang-07", slashed, "ack")
    r = officer.post(action[1], data={"csrf": csrf_of(detail), "note": "slash ok"})
    assert r.status_code == 200 and "slash ok" in r.text
    assert store.db.query("SELECT site, node, event_id FROM acks") == [
        ("semarang", "gudang-07", slashed)
    ]
    for f, kind in ((a, "person"), (b, "door_open"), (c, "motion")):
        detail = officer.get(f.url(shared)).text
        assert f'<h1 id="event-title" data-kind="{kind}"' in detail
        assert f"<dd>{f.node.node}</dd>" in detail
        assert f"<dd>{f.node.site}</dd>" in detail and 'id="acknowledge"' in detail
    r = officer.post(b.url(shared, "ack"), data={"csrf": csrf_of(detail), "note": "solo"})
    assert r.status_code == 200 and re.search(r'id="acked">[^<]*<strong>budi</strong>', r.text)
    assert 'id="acknowledge"' in officer.get(a.url(shared)).text
    assert officer.get(event_url("semarang", "gudang-09", shared)).status_code == 404
    with pytest.raises(LookupError, match="solo/gudang-07"):
        reads.find_event(store.db, shared)
    assert reads.find_event(store.db, shared, "solo/gudang-07")["kind"] == "door_open"
