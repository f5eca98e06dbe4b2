"""The routes' one call to record an access before serving shared material
(:mod:`edge.receiver.access.record`): a detail page, a snapshot, a clip's Range request, an
evidence zip. What cannot be recorded is not served: 503 with a message saying why, in
Bahasa Indonesia and English.

The byte ranges a clip request is recorded with are the ones Starlette's
:class:`~starlette.responses.FileResponse` will send for its ``Range`` header (its own
parser): a malformed or unsatisfiable header is answered 400 or 416 without a byte, so it
is not a viewing; an ``If-Range`` (which may turn the answer into the whole file) is
recorded as the whole file. The viewing recorder of an app is made at its first use and
chains the viewings a stopped receiver left pending (:func:`started`, :func:`stopped`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable

from edge.core.lifecycle import Worker, restart
from edge.core.logs import get_logger
from edge.receiver.access.record import (
    DOWNLOAD_EVIDENCE,
    VIEW_DETAIL,
    AccessNotRecorded,
    Item,
    Range,
    Recorder,
)
from edge.receiver.store import lookups
from edge.receiver.store.database import Database
from edge.receiver.web.context import Dashboard, blocking, session

log = get_logger(__name__)

NOT_RECORDED = (
    "Akses ini tidak dapat dicatat di jejak audit penerima, jadi tidak ditampilkan. "
    "Hubungi admin (edge receive audit verify). / This access could not be recorded in the "
    "receiver's audit chain, so nothing is shown. Tell an admin (edge receive audit verify)."
)
MAX_VIEWING_ID = 64
SWEEP_S = 60.0
"""How often a running dashboard chains the viewings that ended."""
MAX_EVENTS = 200
"""An incident page's access record names at most this many of its events."""
_made = threading.Lock()


def recorder_of(app: Starlette) -> Recorder:
    """The app's recorder (made at its first use, when it chains what a stopped receiver
    left pending)."""
    with _made:
        rec = getattr(app.state, "access_recorder", None)
        if isinstance(rec, Recorder):
            return rec
        d = app.state.dashboard
        assert isinstance(d, Dashboard)
        rec = Recorder(d.db, d.workflow.appender)
        app.state.access_recorder = rec
    _chain_all(rec, "start")
    return rec


def _chain_all(rec: Recorder, why: str) -> None:
    try:
        rec.chain_ended(everything=True, why=why)
    except AccessNotRecorded as e:  # they stay pending; serving checks again
        log.error("access.pending_not_chained", why=why, error=str(e))


def started(app: Starlette) -> None:
    """The receiver started: chain the viewings a previous run left pending."""
    recorder_of(app)


def sweep(app: Starlette, stopping: threading.Event, every_s: float = SWEEP_S) -> None:
    """Until *stopping* is set, chain the viewings whose gap elapsed every *every_s*
    seconds (so a viewing ends in the chain though nobody opens anything after it). A round
    that fails is logged and the next one tries again: the viewings stay pending in the store
    (serving checks them too), so the sweep never dies silently."""
    while not stopping.wait(every_s):
        try:
            recorder_of(app).chain_ended()
        except AccessNotRecorded:  # logged by the recorder; they stay pending
            pass
        except Exception:
            log.exception("access.sweep_failed")


def sweeping(app: Starlette) -> threading.Thread:
    """:func:`sweep` on a thread owned by a :class:`edge.core.lifecycle.Worker`, until the
    dashboard stops (a sweep that dies anyway is logged ``thread.died`` and restarted)."""
    d = app.state.dashboard
    assert isinstance(d, Dashboard)
    return Worker("access-viewings", on_death=restart()).spawn(
        sweep, "access-viewings", app, d.stopping
    )


def stopped(app: Starlette) -> None:
    """The receiver stops: every pending viewing ends now."""
    _chain_all(recorder_of(app), "stop")


def _who(request: Request) -> tuple[str, str]:
    s = session(request)
    return s.user, str(s.role)


async def record(request: Request, action: str, item: Item, **extra: object) -> None:
    """Chain *action* on *item* by the request's user; 503 when it cannot be."""
    user, role = _who(request)
    rec = await blocking(recorder_of, request.app)
    try:
        await blocking(rec.record, action, item, user=user, role=role, **extra)
    except AccessNotRecorded as e:
        raise HTTPException(503, NOT_RECORDED) from e


async def view(request: Request, item: Item, size: int, file: FileResponse | None = None) -> None:
    """Keep this request's byte ranges of *item* in its user's viewing; 503 when they
    cannot be kept. HEAD requests and refused ranges serve nothing and keep nothing."""
    if request.method != "GET":
        return
    ranges = served_ranges(request.headers, size, file)
    if not ranges:
        return
    user, role = _who(request)
    viewing = request.query_params.get("viewing")
    viewing = viewing[:MAX_VIEWING_ID] if viewing else None
    rec = await blocking(recorder_of, request.app)
    try:
        await blocking(rec.view, item, user=user, role=role, ranges=ranges, size=size,
                       viewing=viewing)  # fmt: skip
    except AccessNotRecorded as e:
        raise HTTPException(503, NOT_RECORDED) from e


def served_ranges(headers: Headers, size: int, file: FileResponse | None = None) -> list[Range]:
    """The byte ranges ``[start, end)`` a ``FileResponse`` of a *size*-byte file sends for
    *headers* (empty: it answers 400 or 416, no byte). Where Starlette's parser finds no
    range (too many of them, none numeric) it sends the whole file: so is it recorded. An
    ``If-Range`` that does not match *file* (its ETag or Last-Modified; no *file*: never)
    gets the whole file too."""
    whole = [(0, size)] if size > 0 else []
    header, if_range = headers.get("range"), headers.get("if-range")
    if header is None or (if_range is not None and not (file and file._should_use_range(if_range))):
        return whole
    try:
        parsed = FileResponse._parse_range_header(header, size)
    except (MalformedRangeHeader, RangeNotSatisfiable):
        return []
    except ValueError:  # anything else its parser trips on: count it all as sent
        return whole
    return [(int(a), int(b)) for a, b in parsed] or whole  # none parsed: it sends it all


def _event_item(db: Database, site: str, node: str, event_id: str) -> Item:
    return Item("event", event_id, site, node, lookups.seen_sha256(db, site, node, event_id))


def _media_item(db: Database, kind: str, site: str, node: str, sha256: str) -> Item:
    found = lookups.media_id(db, kind, site, node, sha256)
    return Item(kind, sha256 if found is None else found, site, node, sha256)


async def detail(request: Request, event: dict[str, object]) -> None:
    """An alert's detail page is about to be shown."""
    d = request.app.state.dashboard
    item = await blocking(_event_item, d.db, str(event["site"]), str(event["node"]),
                          str(event["id"]))  # fmt: skip
    await record(request, VIEW_DETAIL, item)


async def media(
    request: Request, kind: str, site: str, node: str, sha256: str, *, path: Path
) -> None:
    """A clip's or snapshot's bytes are about to be sent from *path*."""
    d = request.app.state.dashboard
    item = await blocking(_media_item, d.db, kind, site, node, sha256)
    stat = path.stat()
    await view(request, item, stat.st_size, FileResponse(path, stat_result=stat))


async def evidence(request: Request, site: str, node: str, event_id: str, zip_path: Path) -> None:
    """An alert's evidence zip (written at *zip_path*) is about to be sent; it is removed
    when its download cannot be recorded."""
    d = request.app.state.dashboard
    try:
        item = await blocking(_event_item, d.db, site, node, event_id)
        clip_id = await blocking(lookups.event_clip_id, d.db, site, node, event_id)
        await record(request, DOWNLOAD_EVIDENCE, item, clip_id=clip_id)
    except BaseException:
        zip_path.unlink(missing_ok=True)
        raise


async def incident(request: Request, site: str, incident_id: str, data: dict[str, Any]) -> None:
    """An incident's page (its events' kinds, times, cameras and snapshots' links) is about
    to be shown: a ``view_detail`` of type ``incident`` naming its nodes and events."""
    occurrences = data.get("occurrences") or []
    nodes = sorted({str(o.get("node")) for o in occurrences if o.get("node")})
    events = sorted({f"{o.get('node')}/{e}" for o in occurrences
                     for e in (o.get("first_event"), o.get("last_event")) if e})  # fmt: skip
    item = Item("incident", incident_id, site, None, None)
    await record(request, VIEW_DETAIL, item, nodes=nodes, events=events[:MAX_EVENTS])
