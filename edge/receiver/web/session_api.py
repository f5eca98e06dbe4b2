"""The session as the console page sees it (wall-monitor mode, ``static/wall.js``).

``GET /api/session``: ``{user, role, csrf, expires, idle_expires, max_expires, now, left_s,
renew_s, warn_s}`` (UNIX seconds; ``left_s`` is measured on the receiver's clock, so a page
on a skewed clock still counts down right; ``csrf`` lets a page that outlived a new login in
another tab renew with the new session's token). ``POST /api/session/renew`` (the session's CSRF
token in the ``X-CSRF-Token`` header) renews it (see :mod:`edge.receiver.web.sessions`) and
answers the same; a logged-out or lapsed session answers 401 (the guard, or a renewal that
lost the race with a logout) and is never revived."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.csrf import checked_form
from edge.receiver.web.sessions import COOKIE, Session

log = get_logger(__name__)

RENEW_MAX_S = 300.0
"""The page renews at most this far apart (and six times per idle limit at least)."""
WARN_MAX_S = 300.0
"""The page warns this long before the end (a third of the idle limit when that is shorter)."""


def timing(idle_s: float) -> tuple[float, float]:
    """How often the page renews and how long before the end it warns, for *idle_s*."""
    return max(15.0, min(RENEW_MAX_S, idle_s / 6)), min(WARN_MAX_S, idle_s / 3)


def describe(d: Dashboard, s: Session) -> dict[str, Any]:
    """The JSON the page gets about *s*."""
    now = d.sessions.clock()
    cap = d.sessions.cap(s)
    renew_s, warn_s = timing(d.sessions.idle_s)
    return {
        "user": s.user,
        "csrf": s.csrf,
        "role": str(s.role),
        "expires": round(s.expires, 3),
        "idle_expires": round(min(s.last_active + d.sessions.idle_s, cap), 3),
        "max_expires": round(cap, 3),
        "now": round(now, 3),
        "left_s": round(max(0.0, s.expires - now), 3),
        "renew_s": renew_s,
        "warn_s": warn_s,
    }


async def current(request: Request) -> Response:
    """GET /api/session."""
    return JSONResponse(describe(dashboard(request), session(request)))


async def renew(request: Request) -> Response:
    """POST /api/session/renew."""
    s = session(request)
    d = dashboard(request)
    await checked_form(request, s.csrf)
    token = request.cookies.get(COOKIE)
    renewed = await blocking(d.sessions.renew, token)
    if renewed is None or token is None:
        raise HTTPException(401, "log in first")
    body = describe(d, renewed)
    response = JSONResponse(body)
    response.set_cookie(COOKIE, token, max_age=max(1, int(body["left_s"]) + 1), httponly=True,
                        samesite="strict", secure=d.cfg.http.tls, path="/")  # fmt: skip
    return response


ROUTES = [
    Route("/api/session", current, methods=["GET"]),
    Route("/api/session/renew", renew, methods=["POST"]),
]
