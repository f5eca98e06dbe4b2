"""One alert in detail (snapshot, clip, incident, verification) and acknowledging it."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge.receiver import provenance
from edge.receiver.store import reads
from edge.receiver.store.database import Database
from edge.receiver.web import links, queries
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.csrf import checked_form
from edge.receiver.web.params import event_key
from edge.receiver.web.users import Role
from edge.receiver.web.workflow import acknowledge_event


def verification(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """The clip's signature checked again, now, with the key that signed it (from the
    node's key history: a replaced key still verifies what it signed)."""
    return provenance.verify_event_clip(db, event)


def _detail(d: Dashboard, site: str, node: str, event_id: str) -> dict[str, Any] | None:
    event = reads.event(d.db, site, node, event_id)
    if event is None:
        return None
    return {
        "event": event,
        "incident": queries.incident(d.db, site, event["incident"], node, event_id),
        "verification": verification(d.db, event),
        "ack": d.acks.of(event["site"], event["node"], event_id),
    }


async def detail_page(request: Request) -> Response:
    """GET /alerts/SITE/NODE/ID: snapshot, clip, incident, verification, acknowledgement."""
    s = session(request)
    d = dashboard(request)
    data = await blocking(_detail, d, *event_key(request))
    if data is None:
        raise HTTPException(404, "no such alert")
    return d.render(request, "detail.html", may_ack=s.may(Role.OFFICER), **data)


async def acknowledge(request: Request) -> Response:
    """POST /ack/SITE/NODE/ID: officers and admins, with a note."""
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
    await blocking(acknowledge_event, d, site, node, event_id, user=s.user, note=note)
    return RedirectResponse(links.event_url(site, node, event_id), 303)


ROUTES = [
    Route("/alerts/{site}/{node}/{event_id:path}", detail_page, methods=["GET"]),
    Route("/ack/{site}/{node}/{event_id:path}", acknowledge, methods=["POST"]),
]
