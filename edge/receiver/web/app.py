"""The dashboard as an ASGI app: ``create_app(cfg, store)``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edge.receiver.config import ReceiverConfig
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import (
    alerts,
    audit_access,
    audit_reports,
    detail,
    evidence,
    fleet,
    incident_page,
    login,
    media,
    session_api,
    stream,
    workflow,
)
from edge.receiver.web import lang as language
from edge.receiver.web.context import HERE, Dashboard, session
from edge.receiver.web.guard import Guard


async def home(request: Request) -> Response:
    """GET /: the alert list."""
    session(request)
    return RedirectResponse("/alerts", 303)


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(str(exc.detail), exc.status_code, headers=exc.headers)


def create_app(cfg: ReceiverConfig, store: ReceiverStore) -> Starlette:
    """The dashboard on *store* (its own connection is best: reads never wait on commits
    longer than SQLite's WAL makes them)."""
    d = Dashboard(cfg, store)
    routes = [
        Route("/", home, methods=["GET"]),
        *login.ROUTES,
        *language.ROUTES,
        *evidence.ROUTES,
        *alerts.ROUTES,
        *detail.ROUTES,
        *incident_page.ROUTES,
        *media.ROUTES,
        *fleet.ROUTES,
        *stream.ROUTES,
        *workflow.ROUTES,
        *session_api.ROUTES,
        *audit_access.ROUTES,
        *audit_reports.ROUTES,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, lookup=d.sessions.get, tls=cfg.http.tls)],
        exception_handlers={HTTPException: _error},
    )
    app.state.dashboard = d
    return app
