"""The alert list (live), and the same as JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.receiver.store import reads
from edge.receiver.store.database import Database
from edge.receiver.web import queries
from edge.receiver.web.context import blocking, dashboard, session

RECEIVER_ALERTS = 100
"""Open receiver alerts listed above the events (newest first)."""


def _list(db: Database, q: queries.Query) -> dict[str, Any]:
    rows = queries.events(db, q)
    return {"rows": rows, "choices": queries.choices(db), "newest": queries.newest_seq(db),
            "receiver_alerts": reads.alerts(db, limit=RECEIVER_ALERTS)}  # fmt: skip


async def list_page(request: Request) -> Response:
    """GET /alerts: newest first, filtered, one page (older: ``before_seq``)."""
    session(request)
    d = dashboard(request)
    q = queries.Query.parse(request.query_params)
    data = await blocking(_list, d.db, q)
    rows = data["rows"]
    older = None
    if len(rows) == q.limit:
        older = "/alerts?" + urlencode({**q.filters(), "before_seq": rows[-1]["seq"]})
    return d.render(request, "alerts.html", q=q, older=older, filters=q.filters(), **data)


async def rows_fragment(request: Request) -> Response:
    """GET /alerts/rows?after_seq=N&filters: the table rows newer than N (the live list)."""
    session(request)
    d = dashboard(request)
    q = queries.Query.parse(request.query_params)
    rows = await blocking(queries.events, d.db, q)
    return d.render(request, "rows.html", rows=rows)


async def api_alerts(request: Request) -> Response:
    """GET /api/alerts: the same page as JSON."""
    session(request)
    q = queries.Query.parse(request.query_params)
    rows = await blocking(queries.events, dashboard(request).db, q)
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


async def api_receiver_alerts(request: Request) -> Response:
    """GET /api/receiver_alerts: the receiver's own open alerts (``?all=1``: cleared too)."""
    session(request)
    open_only = request.query_params.get("all") != "1"
    rows = await blocking(reads.alerts, dashboard(request).db, open_only=open_only)
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


ROUTES = [
    Route("/alerts", list_page, methods=["GET"]),
    Route("/alerts/rows", rows_fragment, methods=["GET"]),
    Route("/api/alerts", api_alerts, methods=["GET"]),
    Route("/api/receiver_alerts", api_receiver_alerts, methods=["GET"]),
]
