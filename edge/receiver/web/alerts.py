"""The alert list (live), one alert in detail, acknowledging it, and the same as JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from edge.receiver import provenance
from edge.receiver.store import reads
from edge.receiver.store.database import Database
from edge.receiver.web import links, queries
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.csrf import checked_form
from edge.receiver.web.params import event_key
from edge.receiver.web.users import Role

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


def verification(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """The clip's signature checked again, now, with the key that signed it (from the
    node's key history: a replaced key still verifies what it signed)."""
    return provenance.verify_event_clip(db, event)


def _detail(d: Dashboard, site: str, node: str, event_id: str) -> dict[str, Any] | None:
    event = reads.event(d.db, site, node, event_id)
    if event is None:
        return None
    return {
        "event": event,
        "incident": queries.incident(d.db, site, event["incident"], node, event_id),
        "verification": verification(d.db, event),
        "ack": d.acks.of(event["site"], event["node"], event_id),
    }


async def detail_page(request: Request) -> Response:
    """GET /alerts/SITE/NODE/ID: snapshot, clip, incident, verification, acknowledgement."""
    s = session(request)
    d = dashboard(request)
    data = await blocking(_detail, d, *event_key(request))
    if data is None:
        raise HTTPException(404, "no such alert")
    return d.render(request, "detail.html", may_ack=s.may(Role.OFFICER), **data)


async def acknowledge(request: Request) -> Response:
    """POST /ack/SITE/NODE/ID: officers and admins, with a note."""
    s = session(request)
    if not s.may(Role.OFFICER):
        raise HTTPException(403, "viewers cannot acknowledge")
    form = await checked_form(request, s.csrf)
    d = dashboard(request)
    site, node, event_id = event_key(request)
    event = await blocking(reads.event, d.db, site, node, event_id)
    if event is None:
        raise HTTPException(404, "no such alert")
    note = str(form.get("note", ""))
    await blocking(d.acks.acknowledge, site, node, event_id, s.user, note)
    return RedirectResponse(links.event_url(site, node, event_id), 303)


ROUTES = [
    Route("/alerts", list_page, methods=["GET"]),
    Route("/alerts/rows", rows_fragment, methods=["GET"]),
    Route("/alerts/{site}/{node}/{event_id:path}", detail_page, methods=["GET"]),
    Route("/ack/{site}/{node}/{event_id:path}", acknowledge, methods=["POST"]),
    Route("/api/alerts", api_alerts, methods=["GET"]),
    Route("/api/receiver_alerts", api_receiver_alerts, methods=["GET"]),
]
