"""Clips and snapshots of a node, served by the sha256 of their content
(``/media/clip/SITE/NODE/SHA.mp4``, ``/media/snapshot/SITE/NODE/SHA.jpg``) from the store's
records of that node only, and only from inside the data
directory: a name that is not a hash, a record that points elsewhere, or a symlink that
leads out is a 404. Clips answer HTTP range requests (206), so a video element seeks."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.receiver.web import queries
from edge.receiver.web.context import blocking, dashboard, session
from edge.receiver.web.params import safe_path

log = get_logger(__name__)

_NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>mp4|jpg)$")
_KINDS = {"clip": ("mp4", "video/mp4"), "snapshot": ("jpg", "image/jpeg")}


async def media(request: Request) -> Response:
    """GET /media/{kind}/{site}/{node}/{name}."""
    session(request)
    d = dashboard(request)
    kind, name = request.path_params["kind"], request.path_params["name"]
    site = safe_path(str(request.path_params["site"]), "site")
    node = safe_path(str(request.path_params["node"]), "node")
    match = _NAME.match(name)
    if kind not in _KINDS or match is None or match["ext"] != _KINDS[kind][0]:
        log.warning("web.media_refused", kind=kind[:20], name=name[:100])
        raise HTTPException(404, "not found")
    recorded = await blocking(queries.media_path, d.db, kind, site, node, match["sha"])
    path = d.store.files.servable(recorded)
    if path is None:
        if recorded is not None:
            log.warning("web.media_outside", kind=kind, path=recorded)
        raise HTTPException(404, "not found")
    return FileResponse(path, media_type=_KINDS[kind][1], headers={"cache-control": "private"})


ROUTES = [Route("/media/{kind}/{site}/{node}/{name:path}", media, methods=["GET", "HEAD"])]
