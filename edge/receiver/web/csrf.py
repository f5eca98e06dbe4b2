"""Cross-site request forgery: every POST carries the session's token (a hidden ``csrf``
field, or the ``X-CSRF-Token`` header), and a POST whose ``Origin`` (or ``Referer``) names
another site is refused whatever it carries. The login form, before any session, uses a
token of its own in a cookie (double submit)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

LOGIN_COOKIE = "edge_login_csrf"
FIELD = "csrf"
HEADER = "x-csrf-token"


def same_origin(headers: dict[str, str], scheme: str) -> bool:
    """Is the request's ``Origin`` (else ``Referer``) this site, or absent?"""
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        parts = urlsplit(headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        return True
    return origin == f"{scheme}://{host}"


def matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens (either missing: no)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def checked_form(request: Request, expected: str | None) -> FormData:
    """The POSTed form, once its CSRF token matches *expected* (else 403)."""
    form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
    given = form.get(FIELD)
    token = given if isinstance(given, str) else request.headers.get(HEADER)
    if not matches(token, expected):
        raise HTTPException(403, "missing or wrong CSRF token")
    return form
