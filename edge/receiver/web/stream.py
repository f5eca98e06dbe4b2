"""The live list's push channel: server-sent events (``GET /api/stream?after=SEQ``). Each
connection looks at the store's newest event every :data:`POLL_S` and sends ``alerts`` with
that seq when it grew (the page then fetches the new rows with its filters); the store is
the one source, so events committed by another receiver on the same PostgreSQL show too.
A comment every :data:`KEEPALIVE_S` keeps proxies from closing it; a logout ends it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from edge.receiver.web import queries
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.params import whole
from edge.receiver.web.sessions import COOKIE

POLL_S = 0.25
KEEPALIVE_S = 15.0
RECHECK_S = 10.0
"""How often the session is looked up again (a logout or expiry ends the stream)."""


async def _events(request: Request, d: Dashboard, last: int) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    token = request.cookies.get(COOKIE)
    quiet = checked = time.monotonic()
    while not d.stopping.is_set():
        newest = await blocking(queries.newest_seq, d.db)
        now = time.monotonic()
        if newest > last:
            last = newest
            quiet = now
            yield f"event: alerts\ndata: {newest}\n\n"
        elif now - quiet > KEEPALIVE_S:
            quiet = now
            yield ": keepalive\n\n"
        if now - checked > RECHECK_S:
            checked = now
            if await blocking(d.sessions.get, token) is None:
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)


async def stream(request: Request) -> Response:
    """GET /api/stream."""
    session(request)
    d = dashboard(request)
    after = whole(request.query_params, "after")
    last = after if after is not None else await blocking(queries.newest_seq, d.db)
    return StreamingResponse(
        _events(request, d, last),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


ROUTES = [Route("/api/stream", stream, methods=["GET"])]
