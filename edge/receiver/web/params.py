"""Query parameters that must be whole numbers (``before_seq``, ``after_seq``, ``limit``,
``after``): plain ASCII digits of at most :data:`MAX_DIGITS`, or absent/empty. Anything
else answers 400 naming the parameter, never a 500 (``"²".isdigit()`` is True but
``int("²")`` raises)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_DIGITS = 18
"""A seq fits a signed 64-bit column with room to spare."""
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def whole(params: Mapping[str, str], name: str) -> int | None:
    """Parameter *name* as a non-negative integer; None when absent or empty; 400 when it
    is anything else."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not _DIGITS.fullmatch(raw):
        shown = raw[:20].encode("ascii", "backslashreplace").decode()
        raise HTTPException(400, f"{name} must be a whole number of at most {MAX_DIGITS} "
                                 f"digits, not {shown!r}")  # fmt: skip
    return int(raw)


def text(params: Mapping[str, str], name: str, limit: int = 100) -> str | None:
    """Parameter *name* as a filter value: None when absent or empty, cut to *limit*
    characters; 400 when it holds a control character (a NUL, which PostgreSQL refuses in
    text, would otherwise fail the query)."""
    raw = (params.get(name) or "").strip()[:limit]
    if not raw:
        return None
    if not raw.isprintable():
        raise HTTPException(400, f"{name} holds a control character")
    return raw


def safe_path(value: str, name: str) -> str:
    """A path parameter (site, node, id): 400 when it holds a control character."""
    if not value.isprintable():
        raise HTTPException(400, f"{name} holds a control character")
    return value


def event_key(request: Request) -> tuple[str, str, str]:
    """(site, node, id) of the event a route names (``/.../SITE/NODE/ID``), each checked by
    :func:`safe_path`."""
    p = request.path_params
    return (safe_path(str(p["site"]), "site"), safe_path(str(p["node"]), "node"),
            safe_path(str(p["event_id"]), "event id"))  # fmt: skip
