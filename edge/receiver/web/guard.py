"""The gate in front of every route: a session or nothing (pages redirect to the login,
the API and every POST answer 401), an auditor only on its own pages (403 elsewhere:
:mod:`edge.receiver.web.forbidden`), no cross-site POST, and the security headers of every
answer (no framing, no sniffing, only this site's scripts, styles and media)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.core.logs import get_logger
from edge.receiver.web.csrf import same_origin
from edge.receiver.web.forbidden import gate_auditor
from edge.receiver.web.sessions import COOKIE, Session

log = get_logger(__name__)

PUBLIC = ("/login", "/static/")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; media-src 'self';"
    " script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self';"
    " base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


class Guard:
    """ASGI middleware: puts the :class:`Session` into ``request.state.session``."""

    def __init__(
        self, app: ASGIApp, lookup: Callable[[str | None], Session | None], tls: bool
    ) -> None:
        self.app = app
        self.lookup = lookup
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gate one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        send = _with_headers(send, path.startswith("/static/"))
        unsafe = method not in ("GET", "HEAD")
        if unsafe and not same_origin(dict(conn.headers), conn.url.scheme):
            log.warning("web.cross_site_refused", path=path, origin=conn.headers.get("origin"))
            await PlainTextResponse("cross-site request refused", 403)(scope, receive, send)
            return
        if path == "/login" or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        session = await run_in_threadpool(self.lookup, conn.cookies.get(COOKIE))
        if session is None:
            response: Response
            if unsafe or path.startswith("/api/") or path.startswith("/media/"):
                response = PlainTextResponse("log in first", 401)
            else:
                target = path + (f"?{conn.url.query}" if conn.url.query else "")
                response = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        if await gate_auditor(scope, receive, send, session):
            return  # an auditor kept to the access log and the reports
        await self.app(scope, receive, send)


def _with_headers(send: Send, static: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for k, v in SECURITY_HEADERS.items():
                if k not in headers:
                    static_cache = k == "cache-control" and static
                    headers[k] = "private, max-age=300" if static_cache else v
        await send(message)

    return wrapped
