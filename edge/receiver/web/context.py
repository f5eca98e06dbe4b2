"""What every route shares: the config, the store, users, sessions, acknowledgements and
the templates; and the small helpers routes use (the session, rendering, blocking reads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from edge.receiver.config import ReceiverConfig
from edge.receiver.places import from_config as places_of
from edge.receiver.store.incidents import Workflow
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import i18n, links, words
from edge.receiver.web.acks import Acks
from edge.receiver.web.sessions import Session, Sessions
from edge.receiver.web.users import Role, Users

HERE = Path(__file__).parent
P = ParamSpec("P")
T = TypeVar("T")


def _size(value: object) -> str:
    """Bytes in a readable unit."""
    if value is None:
        return "?"
    n = float(str(value))
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(value)


class Dashboard:
    """The dashboard's state, one per app."""

    def __init__(self, cfg: ReceiverConfig, store: ReceiverStore) -> None:
        self.cfg = cfg
        self.store = store
        self.db = store.db
        h = cfg.http
        self.users = Users(self.db, max_failures=h.max_failures, lockout_s=h.lockout_s)
        self.sessions = Sessions(self.db, h.session_lifetime_s, h.idle_limit_s, h.session_cap_s)
        self.acks = Acks(self.db, cfg.data_dir, cfg.receiver.name)
        self.workflow = Workflow(self.db, cfg.data_dir, cfg.receiver.name)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
        )
        self.zone = cfg.console.zone
        words.install(env, self.zone)  # _, gettext, ngettext; when, ago, duration, kindname ...
        env.filters["size"] = _size
        env.globals.update(links.TEMPLATE_GLOBALS)
        env.filters.update(places_of(cfg).filters())  # site_label, node_label, regency
        self.templates = Jinja2Templates(env=env)
        self.stopping = threading.Event()
        """Set when the server stops: live streams end."""

    def render(self, request: Request, name: str, status: int = 200, **ctx: object) -> HTMLResponse:
        """A template with the session and its CSRF token."""
        session = request.state.session if hasattr(request.state, "session") else None
        ctx.setdefault("session", session)
        ctx.setdefault("csrf", session.csrf if session else "")
        ctx.setdefault("receiver", self.cfg.receiver.name)
        lang = self.lang(request)
        ctx.setdefault("lang", lang)
        with i18n.use(lang):
            response = self.templates.TemplateResponse(request, name, ctx, status_code=status)
        assert isinstance(response, HTMLResponse)
        response.headers["content-language"] = lang
        return response

    def lang(self, request: Request) -> str:
        """The request's language: its user's, else the browser's choice (``?lang=``, the
        cookie), else the receiver's default."""
        return i18n.request_lang(request, self.db, self.cfg.console.language)


def dashboard(request: Request) -> Dashboard:
    """The app's :class:`Dashboard`."""
    d = request.app.state.dashboard
    assert isinstance(d, Dashboard)
    return d


def session(request: Request, needed: Role | None = Role.VIEWER) -> Session:
    """The request's session (the guard put it there), if its role includes *needed*
    (None: any role, the auditor's too: logging out, the language)."""
    s = getattr(request.state, "session", None)
    if not isinstance(s, Session):
        raise HTTPException(401, "log in first")
    if needed is not None and not s.may(needed):
        raise HTTPException(403, f"needs the {needed} role")
    return s


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a store call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)
