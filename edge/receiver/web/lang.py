"""The language switcher: ``POST /lang`` stores the logged-in user's language (``users.lang``)
and the browser's cookie; before a login, ``/login?lang=en`` sets the cookie
(:func:`remember`)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.receiver.web import i18n
from edge.receiver.web.context import blocking, dashboard, session
from edge.receiver.web.csrf import checked_form

log = get_logger(__name__)

YEAR_S = 365 * 86400


def _back(target: object) -> str:
    """Where to return: a path of this site only (else the console)."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/alerts"


def remember(response: Response, lang: str, secure: bool) -> None:
    """Keep *lang* in the browser (the login page and users without a language of their own)."""
    response.set_cookie(i18n.COOKIE, lang, max_age=YEAR_S, httponly=True, samesite="strict",
                        secure=secure, path="/")  # fmt: skip


async def set_lang(request: Request) -> Response:
    """POST /lang (``lang``, ``csrf``, ``next``): the user's language from now on."""
    s = session(request, None)
    d = dashboard(request)
    form = await checked_form(request, s.csrf)
    lang = i18n.valid(form.get("lang"))
    if lang is None:
        raise HTTPException(400, f"lang: one of {', '.join(i18n.LANGUAGES)}")
    await blocking(i18n.set_user_lang, d.db, s.user, lang)
    log.info("web.language_set", user=s.user, lang=lang)
    response = RedirectResponse(_back(form.get("next")), 303)
    remember(response, lang, d.cfg.http.tls)
    return response


ROUTES = [Route("/lang", set_lang, methods=["POST"])]
