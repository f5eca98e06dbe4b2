"""The live list's push channel: server-sent events (``GET /api/stream?after=SEQ``). Each
connection looks at the store's newest seq (the newest incident's last event, as the console
counts) every :data:`POLL_S` and sends ``alerts`` with it (also as the event's ``id``) when it
grew; the page then fetches what it has not seen with its filters. The store is the one
source, so events committed by another receiver on the same PostgreSQL show too.

Catching up: the stream starts from the later of ``after`` and the ``Last-Event-ID`` header
(which the browser sends by itself when it reconnects), so a page whose stream dropped, or
whose receiver restarted, hears at once that there is more than it has; the page pulls
everything after its own last seq. Without either, it starts from the newest.

The session: looked up every :data:`RECHECK_S` and at its end. A ``session`` event (JSON
``{"state": "ending", "expires", "left_s"}``) goes out when the session ends within the
warning time, ``{"state": "ok", ...}`` when a renewal moved the end away again, and
``{"state": "gone"}`` when it has ended or been logged out: then the stream ends. The stream
itself never renews the session (see :mod:`edge.receiver.web.sessions`). A comment every
:data:`KEEPALIVE_S` keeps proxies from closing it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.receiver.store import console
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.params import whole
from edge.receiver.web.session_api import timing
from edge.receiver.web.sessions import COOKIE, Session

log = get_logger(__name__)

POLL_S = 0.25
KEEPALIVE_S = 15.0
RECHECK_S = 10.0
"""How often the session is looked up again (a logout, a renewal from another tab)."""
WARNED_RECHECK_S = 1.0
"""... and how often once it ends within the warning time (a renewal lifts the warning)."""


def _session_event(state: str, s: Session | None, now: float) -> str:
    body: dict[str, object] = {"state": state}
    if s is not None:
        body.update(expires=round(s.expires, 3), left_s=round(max(0.0, s.expires - now), 3))
    return f"event: session\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


async def _events(request: Request, d: Dashboard, last: int) -> AsyncIterator[str]:
    yield f"retry: 1000\nid: {last}\n\n"
    token = request.cookies.get(COOKIE)
    warn_s = timing(d.sessions.idle_s)[1]
    s: Session | None = await blocking(d.sessions.get, token)
    quiet = checked = time.monotonic()
    warned = False
    while not d.stopping.is_set():
        if s is None:
            yield _session_event("gone", None, d.sessions.clock())
            return
        newest = await blocking(console.newest_seq, d.db)
        now = time.monotonic()
        if newest > last:
            last = newest
            quiet = now
            yield f"id: {newest}\nevent: alerts\ndata: {newest}\n\n"
        elif now - quiet > KEEPALIVE_S:
            quiet = now
            yield ": keepalive\n\n"
        wall = d.sessions.clock()
        if now - checked > (WARNED_RECHECK_S if warned else RECHECK_S) or wall >= s.expires:
            checked = now
            s = await blocking(d.sessions.get, token)
            continue
        ending = s.expires - wall <= warn_s
        if ending != warned:
            warned = ending
            yield _session_event("ending" if ending else "ok", s, wall)
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)


def _resume(request: Request) -> int | None:
    """The ``Last-Event-ID`` a reconnecting browser sends (ignored unless a whole number)."""
    raw = request.headers.get("last-event-id", "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    if raw:
        log.info("web.stream_bad_last_event_id", value=raw[:20])
    return None


async def stream(request: Request) -> Response:
    """GET /api/stream."""
    session(request)
    d = dashboard(request)
    newest = await blocking(console.newest_seq, d.db)
    marks = [m for m in (whole(request.query_params, "after"), _resume(request)) if m is not None]
    last = min(max(marks), newest) if marks else newest  # a page ahead of the store: from now
    return StreamingResponse(
        _events(request, d, last),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


ROUTES = [Route("/api/stream", stream, methods=["GET"])]
