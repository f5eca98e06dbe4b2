"""The fleet board: every node with its warehouse, heartbeat age and state colour, queue,
cameras, disk, temperature and clock; the open page reloads its table fragment every
``http.board_refresh_s``, so a node that goes offline turns red within the supervision
interval."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.receiver.store import reads
from edge.receiver.store.database import Database
from edge.receiver.web.context import blocking, dashboard, session


def board(db: Database) -> list[dict[str, Any]]:
    """The nodes, with per-camera figures flattened for the table."""
    out = []
    for n in reads.nodes(db):
        cams = []
        for name, raw in sorted((n.get("cameras") or {}).items()):
            c = raw if isinstance(raw, dict) else {}
            cams.append({
                "name": name, "frames": c.get("frames"), "dropped": c.get("dropped"),
                "faulted": bool(c.get("faulted")), "blocked": c.get("blocked"),
            })  # fmt: skip
        out.append({**n, "camera_rows": cams})
    return out


def _everything(db: Database) -> dict[str, Any]:
    """The board, the quarantine's figures (kept, dropped, forged messages counted) and the
    receiver's open alerts about sources that are no enrolled node."""
    nodes = board(db)
    enrolled = {(n["site"], n["node"]) for n in nodes}
    strays = [a for a in reads.alerts(db, limit=500) if (a["site"], a["node"]) not in enrolled]
    return {"nodes": nodes, "hostility": reads.quarantine_summary(db), "strays": strays[:50]}


async def fleet_page(request: Request) -> Response:
    """GET /fleet."""
    session(request)
    d = dashboard(request)
    data = await blocking(_everything, d.db)
    return d.render(request, "fleet.html", refresh_ms=int(d.cfg.http.board_refresh_s * 1000),
                    **data)  # fmt: skip


async def board_fragment(request: Request) -> Response:
    """GET /fleet/board: the table alone."""
    session(request)
    d = dashboard(request)
    data = await blocking(_everything, d.db)
    return d.render(request, "board.html", **data)


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
