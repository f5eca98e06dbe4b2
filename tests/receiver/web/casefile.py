"""Helpers of the incident page and evidence bundle tests: a store on SQLite or PostgreSQL
holding one incident as a node sends it (a door, then a person with a snapshot and a real
committed clip, committed person first so that time order and arrival order differ), and a
logged-in client on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dash import Fleet, add_user, client_for, event_wire, jpeg, login, web_config
from starlette.testclient import TestClient

from edge.bench.fleet import Wire
from edge.core.displaytime import DisplayZone
from edge.receiver import provenance
from edge.receiver.store.store import ReceiverStore

CLIP = bytes(range(256)) * 800
"""Stands in for an MP4 (the store checks size and sha256, not the format)."""
INCIDENT = "inc-7"
DOOR_OPEN_S = 65
WIB = DisplayZone("Asia/Jakarta", "WIB")


def iso(seconds: float) -> str:
    """UNIX seconds as the node's event time (RFC 3339, UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass
class Case:
    """The incident's events (by name), their wires, the clip's signed start."""

    fleet: Fleet
    ids: dict[str, str]
    wires: dict[str, Wire]
    times: dict[str, float]
    clip_start: float


def make_case(store: ReceiverStore, tmp_path: Path) -> Case:
    """A door opened at the clip's start + 3 s for DOOR_OPEN_S seconds (START, END) and a
    person 5 s after it opened holding the clip and a snapshot, all of incident INCIDENT;
    a motion of its own; committed person first."""
    f = Fleet(store)
    (tmp_path / "clip.mp4").write_bytes(CLIP)
    clip_id = f.clip(tmp_path / "clip.mp4")
    envelope = provenance.envelope(store.db, f.node.site, f.node.node, clip_id)
    assert envelope is not None
    start = float(envelope["manifest"]["start"])
    times = {"door": float(int(start) + 3), "person": float(int(start) + 8)}
    person_id, person = event_wire(
        f.node, "person", incident=INCIDENT, time=iso(times["person"]), zones=["lorong", "rak-3"],
        clip_id=clip_id, snapshot_id=f.snapshot(jpeg()),
    )  # fmt: skip
    door_id, door = event_wire(f.node, "door_open", incident=INCIDENT, camera=None,
                               sensor="pintu-1", time=iso(times["door"]))  # fmt: skip
    times["door_end"] = times["door"] + DOOR_OPEN_S
    end_id, end = event_wire(f.node, "door_open", incident=INCIDENT, camera=None,
                             sensor="pintu-1", time=iso(times["door_end"]), state="end",
                             occurrence=door_id)  # fmt: skip
    motion_id, motion = event_wire(f.node, "motion", severity="info", camera="gudang-2")
    f.commit([person])
    f.commit([door, motion, end])
    ids = {"person": person_id, "door": door_id, "door_end": end_id, "motion": motion_id}
    wires = {"person": person, "door": door, "door_end": end, "motion": motion}
    return Case(f, ids, wires, times, start)


def store_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """SQLite under tmp_path/rx, or a fresh PostgreSQL database (``request.param``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
    return str(request.getfixturevalue("pg_url"))


@contextmanager
def logged_in(store: ReceiverStore, data_dir: Path, name: str, role: str) -> Iterator[TestClient]:
    """A client logged in as *name* (*role*), in the receiver's default language."""
    add_user(store, name, role)
    with client_for(web_config(data_dir), store) as c:
        assert login(c, name).status_code == 303
        yield c


def row(store: ReceiverStore, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """The first row of a query."""
    rows = store.db.query(sql, params)
    assert rows, sql
    return tuple(rows[0])
