"""``/audit/access``: the police access log for auditors and admins: who viewed which alert
detail, snapshot or clip (its byte ranges) and who downloaded evidence, newest first, from
the receiver's signed audit chain (:func:`edge.receiver.access.log.accesses`). Filters:
user, node (``SITE/NODE`` or ``SITE``), since (``1d``, ``7d``, ``30d``, ``90d`` or a date
``YYYY-MM-DD`` in the display zone); pages of :data:`PAGE` rows; times in the display zone
(WIB)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.core.displaytime import DisplayZone
from edge.receiver.access.log import accesses
from edge.receiver.access.record import pending
from edge.receiver.store import accounts, eventsearch
from edge.receiver.store.database import Database
from edge.receiver.web.context import blocking, dashboard
from edge.receiver.web.forbidden import audit_session
from edge.receiver.web.i18n import N_
from edge.receiver.web.params import text, whole

PAGE = 50
"""Rows on a page."""
MAX_PAGE = 200
"""The last page offered (older rows: narrow the filters, or ``edge receive access``)."""
SINCE_CHOICES = ("1d", "7d", "30d", "90d")
_SPAN = re.compile(r"^([1-9][0-9]{0,3})d$")
ACTION_NAMES: Mapping[str, str] = {
    "view_detail": N_("Alert detail viewed"),
    "view_snapshot": N_("Snapshot shown"),
    "play_clip": N_("Clip played"),
    "download_evidence": N_("Evidence downloaded"),
}
TYPE_NAMES: Mapping[str, str] = {
    "event": N_("Alert"),
    "clip": N_("Clip"),
    "snapshot": N_("Snapshot"),
    "incident": N_("Incident"),
}
SINCE_NAMES: Mapping[str, str] = {
    "1d": N_("last 24 hours"),
    "7d": N_("last 7 days"),
    "30d": N_("last 30 days"),
    "90d": N_("last 90 days"),
}


def since_of(raw: str | None, zone: DisplayZone, now: float) -> float | None:
    """*raw* (``7d`` or ``YYYY-MM-DD``, that day's start in *zone*) as UNIX s; None: all.
    400 naming the parameter for anything else."""
    if not raw:
        return None
    span = _SPAN.match(raw)
    if span:
        return now - int(span[1]) * 86400
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        shown = raw.encode("ascii", "backslashreplace").decode()
        raise HTTPException(
            400, f"since: 1d, 7d, 30d, 90d or a date YYYY-MM-DD, not {shown!r}"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=zone.tz).timestamp()


def node_of(raw: str | None) -> tuple[str | None, str | None]:
    """``SITE/NODE`` or ``SITE`` as (site, node)."""
    if not raw:
        return None, None
    site, _, node = raw.partition("/")
    return site or None, node or None


def _choices(db: Database) -> dict[str, list[Any]]:
    """The users and the nodes to pick from."""
    return {"users": users(db), "nodes": nodes(db)}


def users(db: Database) -> list[str]:
    """Every dashboard user's name."""
    return accounts.user_names(db)


def nodes(db: Database) -> list[tuple[str, str]]:
    """Every enrolled (site, node)."""
    return eventsearch.enrolled(db)


def page_data(db: Database, params: Mapping[str, str], zone: DisplayZone) -> dict[str, Any]:
    """The access log's page for *params*: rows, filters, paging links."""
    user, node_raw = text(params, "user", 64), text(params, "node", 130)
    since_raw = text(params, "since", 20)
    page = min(max(whole(params, "page") or 1, 1), MAX_PAGE)
    since = since_of(since_raw, zone, time.time())
    site, node = node_of(node_raw)
    offset = (page - 1) * PAGE
    found = accesses(db, since=since, user=user, site=site, node=node, limit=offset + PAGE + 1)
    filters = {k: v for k, v in (("user", user), ("node", node_raw), ("since", since_raw)) if v}

    def link(n: int) -> str:
        return "/audit/access?" + urlencode({**filters, "page": n})

    viewing = [v for v in pending(db) if (not user or v["username"] == user)
               and (not site or v["site"] == site) and (not node or v["node"] == node)
               and (since is None or float(v["last"]) >= since)]  # fmt: skip
    return {
        "rows": found[offset : offset + PAGE],
        "viewing": viewing if page == 1 else [],
        "filters": filters,
        "page": page,
        "first": offset + 1,
        "newer": link(page - 1) if page > 1 else None,
        "older": link(page + 1) if len(found) > offset + PAGE and page < MAX_PAGE else None,
        "since_value": since,
        "since_choices": SINCE_CHOICES,
        **_choices(db),
    }


async def access_page(request: Request) -> Response:
    """GET /audit/access."""
    s = await audit_session(request)
    if isinstance(s, Response):
        return s
    d = dashboard(request)
    data = await blocking(page_data, d.db, request.query_params, d.zone)
    return d.render(request, "audit_access.html", actions=ACTION_NAMES, types=TYPE_NAMES,
                    since_names=SINCE_NAMES, **data)  # fmt: skip


ROUTES = [Route("/audit/access", access_page, methods=["GET"])]
