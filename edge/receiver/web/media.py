"""Clips and snapshots of a node, served by the sha256 of their content
(``/media/clip/SITE/NODE/SHA.mp4``, ``/media/snapshot/SITE/NODE/SHA.jpg``) from the store's
records of that node only, and only from inside the data
directory: a name that is not a hash, a record that points elsewhere, or a symlink that
leads out is a 404. Clips answer HTTP range requests (206), so a video element seeks.

:func:`clip_timing` places an event inside its clip: the clip's start is the signed
manifest's ``start`` (UNIX seconds, the node's clock), the event's moment its ``time``; the
detail page marks and seeks to their difference."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.receiver.web import accesslog, queries, retained
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
    if (deleted := await retained.gone(request, kind, site, node, match["sha"])) is not None:
        return deleted
    recorded = await blocking(queries.media_path, d.db, kind, site, node, match["sha"])
    path = d.store.files.servable(recorded)
    if path is None:
        if recorded is not None:
            log.warning("web.media_outside", kind=kind, path=recorded)
        raise HTTPException(404, "not found")
    await accesslog.media(request, kind, site, node, match["sha"], path=path)
    return FileResponse(path, media_type=_KINDS[kind][1], headers={"cache-control": "private"})


def event_seconds(value: object) -> float | None:
    """An event's ``time`` (ISO 8601, ``Z`` or an offset; or UNIX seconds) as UNIX seconds;
    None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def clip_timing(
    manifest: Mapping[str, object] | None, event_time: object
) -> dict[str, object] | None:
    """Where the event at *event_time* falls in the clip of *manifest*: ``start``,
    ``duration`` (seconds; ``end - start`` when ``duration_s`` is missing), ``event``
    (UNIX s) and ``offset`` (event minus start, kept inside the clip: an event just before
    the clip's first frame marks 0). None when the manifest has no usable start or the
    event no usable time."""
    if not manifest:
        return None
    start = event_seconds(manifest.get("start"))
    moment = event_seconds(event_time)
    if start is None or moment is None:
        return None
    duration = manifest.get("duration_s")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        end = event_seconds(manifest.get("end"))
        duration = None if end is None else end - start
    offset = moment - start
    if duration is not None and duration > 0:
        offset = min(offset, float(duration))
    return {
        "start": start,
        "duration": None if duration is None else round(float(duration), 3),
        "event": moment,
        "offset": round(max(0.0, offset), 3),
        "outside": offset < 0 or (duration is not None and moment - start > duration),
    }


ROUTES = [Route("/media/{kind}/{site}/{node}/{name:path}", media, methods=["GET", "HEAD"])]
