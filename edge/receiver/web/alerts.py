"""The alarm console (``/alerts``): incidents newest first, each with its occurrences,
filtered; the live list's pages of what changed after a seq (``/alerts/rows``); the
console's state for the page's title, banner and sound (``/api/console/state``); and the
per-event list as JSON (``/api/alerts``, unchanged) beside the incidents as JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.receiver.store import console, eventsearch, reads
from edge.receiver.store.console import ConsoleQuery
from edge.receiver.store.database import Database
from edge.receiver.web import consoleparams, i18n, queries
from edge.receiver.web.context import blocking, dashboard, session
from edge.receiver.web.params import whole
from edge.receiver.web.users import Role

RECEIVER_ALERTS = 100
"""Open receiver alerts listed below the console (newest first)."""
LOUD = ("alarm", "critical")
"""The severities the title, the banner and the sound count."""


def _choices(db: Database) -> dict[str, object]:
    nodes = eventsearch.enrolled(db)
    plain = queries.choices(db)
    return {"site": sorted({s for s, _ in nodes}), "nodes": nodes, "kind": plain["kind"],
            "severity": plain["severity"], "status": list(consoleparams.STATUSES)}  # fmt: skip


def _unacked(db: Database) -> int:
    counts = console.unacked(db)
    return sum(int(counts.get(s, 0)) for s in LOUD)


def _page(db: Database, q: ConsoleQuery) -> dict[str, Any]:
    found = console.incidents(db, dataclasses.replace(q, after_seq=None))
    return {
        "incidents": consoleparams.dress(found),
        "choices": _choices(db), "newest": console.newest_seq(db), "unacked_total": _unacked(db),
        "receiver_alerts": reads.alerts(db, limit=RECEIVER_ALERTS),
    }  # fmt: skip


async def list_page(request: Request) -> Response:
    """GET /alerts: the console, newest incident first, filtered, one page (older:
    ``before_seq``)."""
    s = session(request)
    d = dashboard(request)
    q = consoleparams.parse(request.query_params)
    data = await blocking(_page, d.db, q)
    found = data["incidents"]
    filters = consoleparams.filters(q)
    older = None
    if len(found) == q.limit:
        older = "/alerts?" + urlencode({**filters, "before_seq": found[-1]["last_seq"]})
    return d.render(request, "alerts.html", q=q, older=older, filters=filters,
                    can_act=s.may(Role.OFFICER), **data)  # fmt: skip


def _rows(db: Database, q: ConsoleQuery) -> tuple[list[dict[str, Any]], bool]:
    found = console.incidents(db, dataclasses.replace(q, limit=q.limit + 1))
    more = len(found) > q.limit
    if more:  # forward (after_seq alone): the page just after it, so the extra one is newest
        forward = q.after_seq is not None and q.before_seq is None
        found = found[1:] if forward else found[: q.limit]
    return consoleparams.dress(found), more


async def rows_fragment(request: Request) -> Response:
    """GET /alerts/rows?after_seq=N&filters: one page of ``tbody`` elements, newest first,
    holding the incidents whose last seq comes just after N (the oldest of them first in
    line, so nothing is skipped). ``X-Edge-More: 1`` says more remain: ask again with
    ``after_seq`` = ``X-Edge-Newest`` until it says 0."""
    s = session(request)
    d = dashboard(request)
    q = consoleparams.parse(request.query_params)
    found, more = await blocking(_rows, d.db, q)
    seqs = [int(i["last_seq"]) for i in found]
    response = d.render(request, "rows.html", incidents=found, can_act=s.may(Role.OFFICER))
    response.headers["x-edge-more"] = "1" if more else "0"
    response.headers["x-edge-count"] = str(len(found))
    response.headers["x-edge-oldest"] = str(min(seqs)) if seqs else ""
    response.headers["x-edge-newest"] = str(max(seqs)) if seqs else ""
    return response


def _state(
    db: Database, q: ConsoleQuery, alarms_after: int | None, label: Callable[[str], object]
) -> dict[str, object]:
    counts = {str(k): int(v) for k, v in console.unacked(db).items()}
    out: dict[str, object] = {"newest": console.newest_seq(db), "unacked": counts,
                           "unacked_total": sum(counts.get(s, 0) for s in LOUD)}  # fmt: skip
    if q.after_seq is not None:
        everything = dataclasses.replace(q, after_seq=None)
        out["pending"] = console.count_after(db, everything, q.after_seq)
    if alarms_after is not None:
        out["alarms"], out["alarm_count"] = consoleparams.new_alarms(db, alarms_after, label)
    return out


async def api_state(request: Request) -> Response:
    """GET /api/console/state[?after_seq=N&filters][&alarms_after=M]: the newest seq, the
    unacknowledged incidents by severity (``unacked_total``: alarm and critical); with
    ``after_seq`` how many matching incidents changed after it (``pending``); with
    ``alarms_after`` the unacknowledged incidents where an alarm or critical occurrence
    began after M, whatever the filters (``alarms``: the first few, each key, level, title
    and seq; ``alarm_count``: how many), so a page scrolled down or filtered still sounds."""
    session(request)
    d = dashboard(request)
    q = consoleparams.parse(request.query_params)
    after = whole(request.query_params, "alarms_after")
    label = d.templates.env.filters.get("site_label", str)  # the places' names (H7)
    with i18n.use(d.lang(request)):
        return JSONResponse(await blocking(_state, d.db, q, after, label))


async def api_incidents(request: Request) -> Response:
    """GET /api/incidents: the console's page as JSON (the same filters)."""
    session(request)
    q = consoleparams.parse(request.query_params)
    found = await blocking(console.incidents, dashboard(request).db, q)
    return JSONResponse([consoleparams.public(i) for i in consoleparams.dress(found)])


async def api_alerts(request: Request) -> Response:
    """GET /api/alerts: events (not incidents), newest first, filtered, as JSON."""
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
    Route("/api/console/state", api_state, methods=["GET"]),
    Route("/api/incidents", api_incidents, methods=["GET"]),
    Route("/api/alerts", api_alerts, methods=["GET"]),
    Route("/api/receiver_alerts", api_receiver_alerts, methods=["GET"]),
]
