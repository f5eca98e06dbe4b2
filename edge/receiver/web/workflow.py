"""The officers' actions on incidents (:mod:`edge.receiver.store.incidents`): bulk
acknowledgement from the list, and assign, comment, close and reopen on one incident, and
hold or release it (retention keeps a held incident's clips and snapshots).

Each takes a form or a JSON body carrying the session's CSRF token (``csrf``, or the
``X-CSRF-Token`` header). A fetch asking for JSON (``Accept: application/json``) gets JSON
(a refusal too: ``{"error", "incident", "status"}`` with its 400/404/409); a form gets a
redirect back to the page it came from. Viewers may not act (403)."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from edge.receiver.ackaudit.chain import ChainError, ChainWriter
from edge.receiver.store.database import Cursor
from edge.receiver.store.incident_seal import seal_pending
from edge.receiver.store.incident_words import N_, WorkflowError
from edge.receiver.store.incidents import MAX_BULK, Ref, Workflow
from edge.receiver.store.incidents import acknowledge_event as acknowledge_event_incident
from edge.receiver.web import i18n
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.csrf import FIELD, HEADER, matches
from edge.receiver.web.sessions import Session
from edge.receiver.web.users import Role

MAX_BODY = 256 * 1024


def workflow_of(request: Request) -> Workflow:
    """The app's :class:`Workflow`."""
    return dashboard(request).workflow


def acknowledge_event(d: Dashboard, site: str, node: str, event_id: str, *, user: str,
                      note: str) -> dict[str, object] | None:  # fmt: skip
    """The old per-event acknowledgement (``POST /ack/SITE/NODE/ID``): the ``acks`` row and
    its record as before (returned; None: acknowledged before), and the event's incident
    acknowledged (if new) in the same transaction; an event acknowledged before still
    acknowledges its incident."""

    def incident(cur: Cursor, chain: ChainWriter) -> None:
        seal_pending(cur, chain)
        try:
            acknowledge_event_incident(cur, chain, site, node, event_id, user=user, note=note)
        except WorkflowError as e:  # its incident changed under us: nothing is written
            raise HTTPException(e.status, e.message) from e

    record = d.acks.acknowledge(site, node, event_id, user, note, also=incident)
    if record is None:
        try:
            with d.workflow.appender.transaction() as (cur, chain):
                incident(cur, chain)
        except ChainError as e:
            raise HTTPException(409, f"not acknowledged: {e}; see /admin") from e
    return record


def incident_url(site: str, incident: str) -> str:
    """The path of one incident's page."""
    return f"/incidents/{quote(site, safe='')}/{quote(incident, safe='')}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _body(request: Request, s: Session) -> dict[str, list[str]]:
    """The POSTed fields (each a list of strings), once the CSRF token matches."""
    fields: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise HTTPException(413, f"the request is over {MAX_BODY} bytes")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as e:
            raise HTTPException(400, f"the body is not JSON: {e}") from e
        if not isinstance(data, dict):
            raise HTTPException(400, "the body is not a JSON object")
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            fields[str(key)] = [str(v) for v in items if v is not None]
    else:
        form = await request.form(max_files=0, max_fields=MAX_BULK + 20,
                                  max_part_size=64 * 1024)  # fmt: skip
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
    given = (fields.get(FIELD) or [""])[0] or request.headers.get(HEADER)
    if not matches(given, s.csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    return fields


def _one(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]


def _officer(request: Request) -> Session:
    s = session(request)
    if not s.may(Role.OFFICER):
        said = _say(request, N_("%(user)s is a viewer: viewers cannot act on incidents"),
                    user=s.user)  # fmt: skip
        raise HTTPException(403, said)
    return s


def _back(request: Request, default: str) -> str:
    """The page the form was on (this site's), else *default*."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return default


def _say(request: Request, message: str, **params: object) -> str:
    """*message* (an English msgid) in the request's language, *params* filled in."""
    with i18n.use(dashboard(request).lang(request)):
        said = i18n.gettext(message)
    return said % params if params else said


def _refused(request: Request, e: WorkflowError) -> Response:
    """The refusal in the officer's language: JSON for a fetch, text for a form."""
    with i18n.use(dashboard(request).lang(request)):
        message = e.translated(i18n.gettext)
    if _wants_json(request):
        body = {"error": message, "incident": e.ref or None, "status": e.current}
        return JSONResponse(body, e.status)
    raise HTTPException(e.status, message)


async def acknowledge(request: Request) -> Response:
    """POST /incidents/ack: ``items`` (SITE/INCIDENT, repeatable), ``note``."""
    s = _officer(request)
    fields = await _body(request, s)
    try:
        refs = [Ref.parse(item) for item in fields.get("items", [])]
        done = await blocking(workflow_of(request).acknowledge, refs, s.user, _one(fields, "note"))
    except WorkflowError as e:
        return _refused(request, e)
    if _wants_json(request):
        return JSONResponse({"acknowledged": done.acknowledged, "already": done.already})
    return RedirectResponse(_back(request, "/alerts"), 303)


async def act(request: Request) -> Response:
    """POST /incidents/SITE/INCIDENT/ACTION (assign, comment, close, reopen, hold, release,
    the last two with a ``reason``); an incident
    id holding ``/`` (a node's own) still reaches its incident."""
    s = _officer(request)
    fields = await _body(request, s)
    incident, _, action = str(request.path_params["rest"]).rpartition("/")
    if not incident:
        raise HTTPException(404, _say(request, N_("no incident %(ref)s"), ref=request.url.path))
    ref = Ref(str(request.path_params["site"]), incident)
    w = workflow_of(request)
    seen = _one(fields, "seen") or None
    note = _one(fields, "note")
    try:
        row: dict[str, object]
        if action == "assign":
            row = await blocking(w.assign, ref, s.user, _one(fields, "assignee"), note, seen)
        elif action == "comment":
            row = await blocking(w.comment, ref, s.user, _one(fields, "text") or note)
        elif action == "close":
            row = await blocking(w.close, ref, s.user, _one(fields, "outcome"),
                                 report_no=_one(fields, "report_no"), note=note,
                                 seen=seen)  # fmt: skip
        elif action == "reopen":
            row = await blocking(w.reopen, ref, s.user, _one(fields, "reason") or note, seen)
        elif action in ("hold", "release"):
            row = await blocking(w.hold, ref, s.user, _one(fields, "reason") or note,
                                 on=action == "hold")  # fmt: skip
        else:
            said = _say(request, N_("no action %(action)s: assign, comment, close, reopen, "
                                    "hold, release"),
                        action=repr(action[:40]))  # fmt: skip
            raise HTTPException(404, said)
    except WorkflowError as e:
        return _refused(request, e)
    if _wants_json(request):
        return JSONResponse({**row, "ref": str(ref), "action": action})
    return RedirectResponse(_back(request, incident_url(ref.site, ref.incident)), 303)


ROUTES = [
    Route("/incidents/ack", acknowledge, methods=["POST"]),
    Route("/incidents/{site}/{rest:path}", act, methods=["POST"]),  # INCIDENT/ACTION
]
