"""Logging in and out, and the admin page (users and the login record)."""

from __future__ import annotations

import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge.receiver.web import i18n
from edge.receiver.web.context import blocking, dashboard, session
from edge.receiver.web.csrf import FIELD, LOGIN_COOKIE, checked_form, matches
from edge.receiver.web.forbidden import AUDIT_HOME, auditor_may
from edge.receiver.web.lang import remember
from edge.receiver.web.sessions import COOKIE
from edge.receiver.web.users import Login, Role


def _next(target: str | None) -> str:
    """Where to go after the login: a path of this site only."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/alerts"


def _login_form(request: Request, error: str = "", status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or ""
    if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(24)  # kept otherwise: two tabs, one cookie
    d = dashboard(request)
    response = d.render(request, "login.html", status, login_csrf=token, error=error,
                        next=_next(request.query_params.get("next")))  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=d.cfg.http.tls, path="/login")  # fmt: skip
    chosen = i18n.valid(request.query_params.get("lang"))
    if chosen:  # the switcher before a login: kept for the next visit
        remember(response, chosen, d.cfg.http.tls)
    return response


def _refusal(request: Request, result: Login) -> str:
    """What the login form says to a refused try, in the request's language, with until
    when in the display zone."""
    d = dashboard(request)
    with i18n.use(d.lang(request)):
        if result.locked_until is None:
            return i18n.gettext("Wrong name or password.")
        until = d.zone.clock(result.locked_until)
        if result.lock == "account":
            return i18n.gettext("Too many wrong passwords for this account from several "
                                "addresses. The account is locked until %(until)s.") % {
                                "until": until}  # fmt: skip
        return i18n.gettext("Too many wrong passwords from this address. Locked until "
                            "%(until)s.") % {"until": until}  # fmt: skip


async def login_page(request: Request) -> Response:
    """GET /login."""
    return _login_form(request)


async def login(request: Request) -> Response:
    """POST /login: a session cookie, or the form again (401)."""
    d = dashboard(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    given = form.get(FIELD)
    if not matches(given if isinstance(given, str) else None, request.cookies.get(LOGIN_COOKIE)):
        raise HTTPException(403, "missing or wrong CSRF token")
    name, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024]
    address = request.client.host if request.client else None
    result = await blocking(d.users.login, name.strip(), password, address)
    if result.user is None:
        return _login_form(request, _refusal(request, result), 401)
    token = await blocking(d.sessions.create, result.user)
    target = _next(str(form.get("next", "")))
    if result.role is Role.AUDITOR and not auditor_may(target):
        target = AUDIT_HOME  # the auditor's home, not the console it may not see
    response = RedirectResponse(target, 303)
    response.set_cookie(COOKIE, token, max_age=d.cfg.http.session_lifetime_s, httponly=True,
                        samesite="strict", secure=d.cfg.http.tls, path="/")  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    """POST /logout."""
    d = dashboard(request)
    await checked_form(request, session(request, None).csrf)
    await blocking(d.sessions.delete, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def admin(request: Request) -> Response:
    """GET /admin: users, locked addresses, the acknowledgement audit check and recent
    logins (admins only)."""
    session(request, Role.ADMIN)
    d = dashboard(request)
    users = await blocking(d.users.all)
    logins = await blocking(d.users.logins, 200)
    addresses = await blocking(d.users.locked_addresses)
    audit = await blocking(d.acks.verify)
    return d.render(request, "admin.html", users=users, logins=logins, audit=audit,
                    addresses=addresses)  # fmt: skip


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/admin", admin, methods=["GET"]),
]
