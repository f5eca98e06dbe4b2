"""What retention left, on the dashboard: a clip or snapshot deleted by retention answers
``410 Gone`` saying when ("deleted by retention on DATE (WIB)", in the request's
language), never its bytes (the file may still be waiting to be removed)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from edge.core.logs import get_logger
from edge.receiver.store.incident_words import N_
from edge.receiver.store.retained import deleted_media
from edge.receiver.web import i18n
from edge.receiver.web.context import blocking, dashboard

log = get_logger(__name__)


async def gone(request: Request, kind: str, site: str, node: str, sha256: str) -> Response | None:
    """The 410 for *site*/*node*'s clip or snapshot *sha256* when retention deleted it
    (None: it was not)."""
    d = dashboard(request)
    when = await blocking(deleted_media, d.db, kind, site, node, sha256)
    if when is None:
        return None
    with i18n.use(d.lang(request)):
        template = i18n.gettext(N_("deleted by retention on %(date)s"))
    log.info("web.media_gone", kind=kind, site=site, node=node, sha256=sha256, deleted=when)
    return PlainTextResponse(template % {"date": d.zone.when(when)}, 410,
                             headers={"cache-control": "private"})  # fmt: skip
