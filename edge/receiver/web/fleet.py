"""The fleet board: every node under its warehouse's display name, grouped by kabupaten/kota,
the nodes that need an officer first (offline, degraded, never seen, online), with counts per
state at the top, "offline since 23:10 (3 hr)" in the display zone, the last health of an
offline node shown as stale, and the forged messages and quarantined messages of each node and
in total. Sort and filter (state, kabupaten/kota, text) are query parameters, so the open
page's periodic refresh of its fragment (``http.board_refresh_s``) keeps them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.receiver.places import Places, from_config
from edge.receiver.store import fleetview, reads
from edge.receiver.store.database import Database
from edge.receiver.web import overload
from edge.receiver.web.context import blocking, dashboard, session

SORTS = ("state", "name", "site", "seen")
"""Board orders: state (offline first), node name, warehouse name, oldest heartbeat first."""
MAX_TEXT = 100
NONE = "-"
"""``?regency=-``: the sites with no kabupaten/kota set."""


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """What the board shows: a state, a kabupaten/kota, a text, and an order."""

    state: str = ""
    regency: str | None = None
    """None: all; ``""``: the sites with no kabupaten/kota set (``?regency=-``)."""
    text: str = ""
    sort: str = "state"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> BoardQuery:
        """The query of ``?state=&regency=&q=&sort=``; 400 naming a bad value."""
        state, sort = params.get("state", ""), params.get("sort", "") or "state"
        if state and state not in fleetview.STATES:
            raise HTTPException(400, f"state {state!r}: one of {', '.join(fleetview.STATES)}")
        if sort not in SORTS:
            raise HTTPException(400, f"sort {sort!r}: one of {', '.join(SORTS)}")
        text = params.get("q", "").strip()
        if len(text) > MAX_TEXT:
            raise HTTPException(400, f"q: at most {MAX_TEXT} characters")
        regency = params.get("regency", "").strip()
        return cls(state=state, regency=None if not regency else "" if regency == NONE else regency,
                   text=text.casefold(), sort=sort)  # fmt: skip

    def keeps(self, row: Mapping[str, object]) -> bool:
        """Whether *row* (a labelled board row) passes the filters."""
        if self.state and row["state"] != self.state:
            return False
        if self.regency is not None and row["regency"] != self.regency:
            return False
        if not self.text:
            return True
        fields = ("site", "node", "site_label", "node_label", "regency", "address", "location")
        return any(self.text in str(row[f]).casefold() for f in fields)

    def key(self, row: Mapping[str, Any]) -> tuple[object, ...]:
        """The row's sort key under this order (ties: warehouse, then node)."""
        names = (row["site_label"].casefold(), row["node_label"].casefold(), row["node"])
        if self.sort == "name":
            return (row["node_label"].casefold(), *names)
        if self.sort == "site":
            return names
        if self.sort == "seen":  # the longest silent first; never seen before all
            seen = row["last_seen"]
            return (seen is not None, float(seen) if seen is not None else 0.0, *names)
        return (fleetview.state_rank(row["state"]), *names)


def _cameras(n: Mapping[str, Any]) -> list[dict[str, object]]:
    cams = []
    for name, raw in sorted((n.get("cameras") or {}).items()):
        c = raw if isinstance(raw, dict) else {}
        cams.append({
            "name": name, "frames": c.get("frames"), "dropped": c.get("dropped"),
            "faulted": bool(c.get("faulted")), "blocked": c.get("blocked"),
            **overload.camera_load(c),
        })  # fmt: skip
    return cams


def labelled(db: Database, places: Places, prefix: str) -> list[dict[str, Any]]:
    """Every node with its display names, address, kabupaten/kota and camera rows; a node
    whose display name another node shares is marked ``same_name`` (its warehouse tells them
    apart)."""
    rows = []
    for n in fleetview.board(db, prefix):
        site, node = n["site"], n["node"]
        names = {
            "site_label": places.site_label(site),
            "node_label": places.node_label(site, node),
            "regency": places.regency(site),
            "address": places.address(site),
            "location": places.location(site, node),
        }
        rows.append({**n, **names, "camera_rows": _cameras(n),
                     "reason_rows": overload.reason_rows(n.get("reasons") or [])})  # fmt: skip
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["node_label"]] = seen.get(r["node_label"], 0) + 1
    for r in rows:
        r["same_name"] = seen[r["node_label"]] > 1
    return rows


def view(db: Database, places: Places, query: BoardQuery, prefix: str) -> dict[str, object]:
    """The board as the templates show it: ``counts`` per state (the whole fleet), ``groups``
    (kabupaten/kota, the group with the worst state first) of the rows *query* keeps, in its
    order; ``shown``/``total``; ``regencies`` for the filter; the quarantine's figures and the
    receiver's open alerts about sources that are no enrolled node."""
    rows = labelled(db, places, prefix)
    counts = {s: 0 for s in fleetview.STATES}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    kept = sorted((r for r in rows if query.keeps(r)), key=query.key)
    groups: dict[str, list[dict[str, object]]] = {}
    for r in kept:
        groups.setdefault(r["regency"], []).append(r)
    # a group goes where its first row would go (offline first: the group holding one)
    ordered = sorted(groups.items(), key=lambda g: (query.key(g[1][0]), g[0] == "", g[0]))
    enrolled = {(r["site"], r["node"]) for r in rows}
    strays = [a for a in reads.alerts(db, limit=500) if (a["site"], a["node"]) not in enrolled]
    return {
        "counts": counts,
        "groups": [
            {"regency": k, "nodes": v, "offline": sum(r["state"] == "offline" for r in v)}
            for k, v in ordered
        ],
        "shown": len(kept),
        "total": len(rows),
        "regencies": sorted({r["regency"] for r in rows}, key=lambda s: (s == "", s.casefold())),
        "hostility": reads.quarantine_summary(db),
        "quarantined_nodes": sum(r["quarantined"] for r in rows),
        "strays": strays[:50],
        "query": query,
        "states": fleetview.STATES,
        "sorts": SORTS,
        "none_regency": NONE,
        "now": time.time(),
    }


async def _data(request: Request) -> dict[str, Any]:
    session(request)
    d = dashboard(request)
    query = BoardQuery.parse(request.query_params)
    places = from_config(d.cfg)
    return await blocking(view, d.db, places, query, d.cfg.broker.topic_prefix)


async def fleet_page(request: Request) -> Response:
    """GET /fleet."""
    data = await _data(request)
    d = dashboard(request)
    return d.render(request, "fleet.html", refresh_ms=int(d.cfg.http.board_refresh_s * 1000),
                    **data)  # fmt: skip


async def board_fragment(request: Request) -> Response:
    """GET /fleet/board: the counts and the table alone (same query parameters)."""
    data = await _data(request)
    return dashboard(request).render(request, "board.html", **data)


async def api_nodes(request: Request) -> Response:
    """GET /api/nodes."""
    session(request)
    nodes = await blocking(reads.nodes, dashboard(request).db)
    return JSONResponse(json.loads(json.dumps(nodes, default=str)))


ROUTES = [
    Route("/fleet", fleet_page, methods=["GET"]),
    Route("/fleet/board", board_fragment, methods=["GET"]),
    Route("/api/nodes", api_nodes, methods=["GET"]),
]
