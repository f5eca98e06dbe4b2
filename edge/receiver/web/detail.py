"""One alert in detail (snapshot, clip with the event's moment marked, its incident,
verification) and acknowledging it: a form post answers with the page, a ``fetch`` that
asks for JSON (``Accept: application/json``) answers with the acknowledgement and the
page's acknowledgement section re-rendered, so the clip keeps playing."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from edge.receiver import provenance
from edge.receiver.store import lookups, reads
from edge.receiver.store.database import Database
from edge.receiver.web import accesslog, links
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.csrf import checked_form
from edge.receiver.web.incident_page import incident_events, incident_of, incident_url
from edge.receiver.web.media import clip_timing, event_seconds
from edge.receiver.web.params import event_key
from edge.receiver.web.users import Role
from edge.receiver.web.workflow import acknowledge_event


def verification(db: Database, event: dict[str, object]) -> dict[str, object]:
    """The clip's signature checked again, now, with the key that signed it (from the
    node's key history: a replaced key still verifies what it signed)."""
    return provenance.verify_event_clip(db, event)


def timing(db: Database, event: dict[str, Any]) -> dict[str, object] | None:
    """Where the event falls in its complete clip (see :func:`media.clip_timing`)."""
    clip = event.get("clip")
    if not clip or clip.get("state") != "complete":
        return None
    envelope = provenance.envelope(db, event["site"], event["node"], event["clip_id"])
    manifest = envelope.get("manifest") if envelope else None
    return clip_timing(manifest if isinstance(manifest, dict) else None,
                       event["payload"].get("time"))  # fmt: skip


def _detail(d: Dashboard, site: str, node: str, event_id: str) -> dict[str, Any] | None:
    event = reads.event(d.db, site, node, event_id)
    if event is None:
        return None
    incident = incident_of(d.db, event["site"], event["node"], event)
    others = [
        e for e in incident_events(d.db, event["site"], incident)
        if not (e["node"] == event["node"] and e["id"] == event["id"])
    ]  # fmt: skip
    return {
        "event": event,
        "event_at": event_seconds(event["payload"].get("time")),
        "incident_id": incident,
        "incident_link": incident_url(event["site"], incident),
        "incident": others,
        "timing": timing(d.db, event),
        "verification": verification(d.db, event),
        "ack": d.acks.of(event["site"], event["node"], event_id),
        "workflow": workflow_state(d.db, event["site"], incident),
    }


def workflow_state(db: Database, site: str, incident: str) -> dict[str, object] | None:
    """The incident's workflow state (status, who acknowledged it and when, assignee)."""
    return lookups.workflow_state(db, site, incident)


async def detail_page(request: Request) -> Response:
    """GET /alerts/SITE/NODE/ID: snapshot, clip, incident, verification, acknowledgement."""
    s = session(request)
    d = dashboard(request)
    data = await blocking(_detail, d, *event_key(request))
    if data is None:
        raise HTTPException(404, "no such alert")
    await accesslog.detail(request, data["event"])
    return d.render(request, "detail.html", may_ack=s.may(Role.OFFICER), **data)


def wants_json(request: Request) -> bool:
    """Did the caller (``detail.js``'s fetch) ask for JSON rather than a page?"""
    return "application/json" in request.headers.get("accept", "")


async def acknowledge(request: Request) -> Response:
    """POST /ack/SITE/NODE/ID: officers and admins, with a note. A form post is sent back
    to the alert's page; a fetch asking for JSON gets ``{"acknowledged", "ack", "html"}``
    (``acknowledged``: false when someone else was first; ``html``: the page's new
    acknowledgement section)."""
    s = session(request)
    if not s.may(Role.OFFICER):
        raise HTTPException(403, "viewers cannot acknowledge")
    form = await checked_form(request, s.csrf)
    d = dashboard(request)
    site, node, event_id = event_key(request)
    event = await blocking(reads.event, d.db, site, node, event_id)
    if event is None:
        raise HTTPException(404, "no such alert")
    note = str(form.get("note", ""))
    record = await blocking(acknowledge_event, d, site, node, event_id, user=s.user, note=note)
    if not wants_json(request):
        return RedirectResponse(links.event_url(site, node, event_id), 303)
    ack = await blocking(d.acks.of, site, node, event_id)
    incident = await blocking(incident_of, d.db, site, node, event)
    state = await blocking(workflow_state, d.db, site, incident)
    section = d.render(request, "_ack.html", ack=ack, event=event, may_ack=True,
                       workflow=state, incident_link=incident_url(site, incident))  # fmt: skip
    return JSONResponse(
        {
            "acknowledged": record is not None,
            "ack": ack,
            "workflow": state,
            "html": bytes(section.body).decode(),
        },
        headers={"cache-control": "no-store"},
    )


ROUTES = [
    Route("/alerts/{site}/{node}/{event_id:path}", detail_page, methods=["GET"]),
    Route("/ack/{site}/{node}/{event_id:path}", acknowledge, methods=["POST"]),
]
