"""One incident on a page (``/incidents/SITE/INCIDENT``): every occurrence in time order
(time in the display zone, duration, readable kind, node and camera or sensor, snapshot,
clip), the workflow's state and its notes (who, when, what), and the workflow's actions
(``_workflow.html``). Reads through :mod:`edge.receiver.store.console`.

An event belongs to the incident of its occurrence (the node's ``incident``, or the
occurrence itself when the node sent none): :func:`incident_of` finds it for the alert's
page and the evidence bundle."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.receiver.store import console, lookups
from edge.receiver.store.database import Database
from edge.receiver.store.retained import incident_retention
from edge.receiver.web import accesslog
from edge.receiver.web.context import blocking, dashboard, session
from edge.receiver.web.params import safe_path
from edge.receiver.web.users import Role

_OTHER_COLUMNS = ("seq", "node", "id", "kind", "severity", "state", "camera", "sensor",
                  "time", "received", "clip_id", "snapshot_id")  # fmt: skip


def incident_url(site: object, incident: object) -> str:
    """The path of one incident's page (each part one percent-encoded path segment)."""
    return f"/incidents/{quote(str(site), safe='')}/{quote(str(incident), safe='')}"


def incident_of(db: Database, site: str, node: str, event: dict[str, Any]) -> str:
    """The incident *event* (of *site*/*node*) belongs to: its occurrence's incident when
    the store has one, else the event's own ``incident``, else its occurrence, else its id."""
    found = lookups.incident_of_event(db, site, node, str(event["id"]))
    if found:
        return found
    payload = event.get("payload") or {}
    return str(event.get("incident") or payload.get("occurrence") or event["id"])


def incident_events(
    db: Database, site: str, incident: str, limit: int = 500
) -> list[dict[str, object]]:
    """The stored events of *site*'s *incident* (through its occurrences: both sides
    indexed), oldest first, at most *limit*."""
    return lookups.incident_events(db, site, incident, _OTHER_COLUMNS, limit)


def _zones(text: object) -> list[str]:
    try:
        value = json.loads(str(text)) if text else []
    except ValueError:
        return []
    return [str(z) for z in value] if isinstance(value, list) else []


def _incident(db: Database, site: str, incident: str) -> dict[str, Any] | None:
    found = console.incident(db, site, incident)
    if found is None:
        return None
    events = incident_events(db, site, incident)
    clips = {(e["node"], e["clip_id"]): e["id"] for e in events if e["clip_id"]}
    snaps = {(e["node"], e["snapshot_id"]): e["id"] for e in events if e["snapshot_id"]}
    occurrences = []
    for row in sorted(found.get("occurrences") or [], key=_started):
        o = {**row, "site": row.get("site") or site, "zone_list": _zones(row.get("zones"))}
        o["clip_event"] = (
            clips.get((o["node"], o.get("clip_id"))) if _complete(db, site, o) else None
        )
        o["snapshot_event"] = snaps.get((o["node"], o.get("snapshot_id")))
        occurrences.append(o)
    notes = sorted(found.get("notes") or [], key=lambda n: (n.get("time") or 0, n.get("seq") or 0))
    return {"incident": found, "occurrences": occurrences, "notes": notes, "site": site,
            "retention": incident_retention(db, site, incident)}  # fmt: skip


def _complete(db: Database, site: str, occurrence: dict[str, Any]) -> bool:
    """Is the occurrence's clip stored whole (the detail page plays only those)?"""
    if not occurrence.get("clip_id"):
        return False
    state = lookups.clip_state(db, site, occurrence["node"], occurrence["clip_id"])
    return state == "complete"


def _started(occurrence: dict[str, Any]) -> tuple[float, int]:
    return (float(occurrence.get("started") or 0), int(occurrence.get("first_seq") or 0))


async def incident_page(request: Request) -> Response:
    """GET /incidents/SITE/INCIDENT: occurrences in time order, state, notes, actions."""
    s = session(request)
    d = dashboard(request)
    site = safe_path(str(request.path_params["site"]), "site")
    incident = safe_path(str(request.path_params["incident"]), "incident")
    data = await blocking(_incident, d.db, site, incident)
    if data is None:
        raise HTTPException(404, "no such incident")
    await accesslog.incident(request, site, incident, data)
    return d.render(request, "incident.html", may_act=s.may(Role.OFFICER),
                    incident_url=incident_url, **data)  # fmt: skip


ROUTES = [Route("/incidents/{site}/{incident:path}", incident_page, methods=["GET"])]
