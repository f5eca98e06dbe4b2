"""The dashboard never answers 500 for data or a query it did not expect (issue 20, findings
2 and 7): a stored heartbeat with wrong types (rows from before the receiver checked them)
still shows the fleet board, and query parameters that are not what they should be answer
400 naming the parameter. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from dash import (
    Fleet,
    both_engines_store,  # noqa: F401 (the store fixture)
    officer_client,  # noqa: F401 (the officer fixture)
)
from starlette.testclient import TestClient

from edge.bench.fleet import SimNode
from edge.receiver.store import reads
from edge.receiver.store.store import ReceiverStore

ODD_HEARTBEATS = [
    {"cpu_temp_c": "hot", "queue": [1, 2], "cameras": ["a"], "reasons": "x"},
    {"cpu_temp_c": [1], "queue": {"police": [3]}, "cameras": {"c1": 5}, "reasons": [1, None],
     "disk_free_bytes": "lots", "clock_synced": "yes"},
    {"cpu_temp_c": True, "queue": "full", "cameras": None, "reasons": {"a": 1},
     "disk_free_bytes": 1e400},
]  # fmt: skip
"""What an old row may hold; the last one is no dict at all after this list."""


def test_heartbeats_of_wrong_types_leave_the_fleet_board_readable(
    store: ReceiverStore, officer: TestClient
) -> None:
    """Nodes whose stored heartbeat has a temperature of text, a queue that is a list,
    cameras that are a list, reasons that are a string (and worse, and not JSON at all):
    /fleet, /fleet/board and /api/nodes answer 200, showing those fields empty."""
    Fleet(store).event("person")
    rows: list[str] = [json.dumps(h) for h in ODD_HEARTBEATS] + ["[1, 2]", "not json {"]
    for i, raw in enumerate(rows):
        node = SimNode("solo", f"gudang-{i:02d}")
        store.enrol(node.site, node.node, node.key.pem)
        with store.db.transaction() as cur:
            cur.execute(
                "UPDATE nodes SET last_health = ?, last_seen = 1 WHERE site = ? AND node = ?",
                (raw, node.site, node.node),
            )
    for path in ("/fleet", "/fleet/board", "/api/nodes"):
        r = officer.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    board = {n["node"]: n for n in reads.nodes(store.db)}
    odd = board["gudang-00"]
    assert (odd["cpu_temp_c"], odd["queued"], odd["cameras"], odd["reasons"]) == (None, 0, {}, [])
    assert board["gudang-01"]["reasons"] == [] and board["gudang-01"]["cameras"] == {}
    assert board["gudang-02"]["disk_free_bytes"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/alerts/rows?after_seq=\u00b2",
        "/alerts?before_seq=abc",
        "/alerts?before_seq=-1",
        "/api/alerts?limit=99999999999999999999999",
        "/api/alerts?after_seq=1.5",
        "/api/alerts?after_seq=%EF%BC%91",  # a fullwidth digit one
        "/api/stream?after=\u00b2",
        "/api/alerts?site=a%00b",
        "/alerts?kind=%07",
    ],
)
def test_bad_query_parameters_answer_400(officer: TestClient, path: str) -> None:
    """Numbers that are no plain ASCII digits (or too long), and filters with a control
    character (a NUL fails a PostgreSQL query): 400 naming the parameter, never 500."""
    r = officer.get(path)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    name = path.split("?")[1].split("=", maxsplit=1)[0]
    assert name in r.text


def test_good_query_parameters_still_work(store: ReceiverStore, officer: TestClient) -> None:
    """Plain numbers and empty values are taken as before."""
    Fleet(store).event("person")
    for path in ("/alerts?before_seq=", "/alerts/rows?after_seq=0", "/api/alerts?limit=5",
                 "/api/alerts?before_seq=999999999999999999&site=semarang"):  # fmt: skip
        assert officer.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "path",
    [
        "/alerts/semarang/gudang-01/ab%00cd",
        "/alerts/sem%00arang/gudang-01/abcd",
        "/evidence/semarang/gudang%07/abcd",
        "/media/clip/semarang/gud%00ang/" + "a" * 64 + ".mp4",
    ],
)
def test_control_characters_in_a_path_answer_400(officer: TestClient, path: str) -> None:
    """A site, node or event id with a NUL or another control character in the path (which
    would fail a PostgreSQL query): 400 naming the part, never 500."""
    r = officer.get(path)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert "control character" in r.text
