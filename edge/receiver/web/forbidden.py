"""Who may see what beyond the roles' order: an auditor sees the access log and the reports
(``/audit/...``) and nothing of the shared material (console, event details, clips,
snapshots, evidence); everyone else but an admin is kept out of ``/audit/``. A refusal is a
403 page saying why, in the user's language (plain text for the API), and a log line."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from edge.core.logs import get_logger
from edge.receiver.web.sessions import Session
from edge.receiver.web.users import Role

log = get_logger(__name__)

AUDIT_HOME = "/audit/access"
AUDITOR_PATHS = ("/logout", "/lang")
"""Outside ``/audit/``, what an auditor may reach (logging out, the language)."""
AUDITOR_REFUSAL = (
    "the auditor's role sees the access log and the reports (/audit/access, /audit/reports), "
    "not the console, event details, clips, snapshots or evidence"
)
AUDIT_REFUSAL = "the access log and the reports are for auditors and administrators"


def auditor_may(path: str) -> bool:
    """May an auditor reach *path*?"""
    return path == "/audit" or path.startswith("/audit/") or path in AUDITOR_PATHS


async def gate_auditor(scope: Scope, receive: Receive, send: Send, session: Session) -> bool:
    """For the guard: answer an auditor's request outside its pages (``/``: its home, else
    the 403 page); True when it was answered here."""
    path: str = scope["path"]
    if session.role is not Role.AUDITOR or auditor_may(path):
        return False
    response: Response
    if path == "/" and scope["method"] in ("GET", "HEAD"):
        response = RedirectResponse(AUDIT_HOME, 303)
    else:
        log.warning("web.auditor_refused", user=session.user, path=path, method=scope["method"])
        response = await refusal(Request(scope, receive), "auditor")
    await response(scope, receive, send)
    return True


async def refusal(request: Request, why: str) -> Response:
    """The 403 answer to *request*: *why* ``auditor`` (an auditor asked for shared material)
    or ``audit`` (someone else asked for the auditor's pages)."""
    text = AUDITOR_REFUSAL if why == "auditor" else AUDIT_REFUSAL
    d = getattr(request.app.state, "dashboard", None) if "app" in request.scope else None
    if d is None or request.url.path.startswith("/api/"):
        return PlainTextResponse(text, 403)
    response: Response = await run_in_threadpool(
        d.render, request, "forbidden.html", 403, why=why, path=request.url.path
    )
    return response


async def audit_session(request: Request) -> Session | Response:
    """The request's session when it may see the auditor's pages (an auditor or an admin),
    else the 403 page."""
    s = getattr(request.state, "session", None)
    assert isinstance(s, Session)  # the guard let no request without one through
    if s.may(Role.AUDITOR):
        return s
    log.warning("web.audit_refused", user=s.user, role=str(s.role), path=request.url.path)
    return await refusal(request, "audit")
