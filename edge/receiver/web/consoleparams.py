"""The console's query string read into the store's :class:`ConsoleQuery`, and the
incidents it answers made ready for the templates (their key, level, links)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException

from edge.core.kinds import Severity
from edge.receiver.store import console
from edge.receiver.store.console import ConsoleQuery
from edge.receiver.store.database import Database
from edge.receiver.store.occurrences import rank
from edge.receiver.web.params import text, whole
from edge.receiver.web.words import kindname

PAGE = 50
ALARMS = 10
"""New alarms the console's state names one by one (the rest: a count)."""
MAX_PAGE = 500
STATUSES = ("new", "acknowledged", "in_progress", "closed", "open")
"""What ``status=`` accepts (``open``: anything not closed)."""
FILTERS = ("site", "node", "kind", "severity", "status")
FLAGS = ("unacked", "all")
CRITICAL_KINDS = frozenset({"smoke", "tamper", "camera_tampered"})
"""Kinds shown and sounded as critical when their severity is alarm or higher."""


def parse(params: Mapping[str, str]) -> ConsoleQuery:
    """The console's filters and paging from *params*: empty values are ignored, a number
    that is not one, an unknown severity or status answers 400 naming the parameter."""
    words = {k: text(params, k) for k in FILTERS}
    severity, status = words["severity"], words["status"]
    if severity is not None and severity not in {str(s) for s in Severity}:
        known = ", ".join(str(s) for s in Severity)
        raise HTTPException(400, f"severity must be one of {known}, not {severity!r}")
    if status is not None and status not in STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    site, node = words["site"], words["node"]
    if node is not None and "/" in node:  # SITE/NODE: one node of that name (the menu's)
        site, _, node = node.partition("/")
        if words["site"] not in (None, site):
            raise HTTPException(400, f"node {words['node']!r} is not of site {words['site']!r}")
    number = functools.partial(whole, params)
    return ConsoleQuery(
        min_rank=0 if words["kind"] == "motion" else 1,  # asked for motion: it is all info
        site=site or None, node=node or None, kind=words["kind"], severity=severity,
        status=status, unacked=_flag(params, "unacked"), show_all=_flag(params, "all"),
        before_seq=number("before_seq"), after_seq=number("after_seq"),
        limit=max(1, min(number("limit") or PAGE, MAX_PAGE)),
    )  # fmt: skip


def _flag(params: Mapping[str, str], name: str) -> bool:
    return (params.get(name) or "").strip().lower() in ("1", "on", "true", "yes")


def filters(q: ConsoleQuery) -> dict[str, str]:
    """The filters of *q* that are set, as query parameters (links that keep them)."""
    out = {f: v for f in FILTERS if (v := getattr(q, f))}
    if q.unacked:
        out["unacked"] = "1"
    if q.show_all:
        out["all"] = "1"
    return out


def level(inc: Mapping[str, object]) -> str:
    """How loudly an incident is shown: its severity, raised to ``critical`` when an
    alarm involves smoke or tampering."""
    severity = str(inc.get("severity") or "info")
    kinds = set(str(inc.get("kinds") or "").split(","))
    if severity == "alarm" and kinds & CRITICAL_KINDS:
        return "critical"
    return severity


def incident_url(site: str, incident: str) -> str:
    """The incident page's path."""
    return f"/incidents/{quote(site, safe='')}/{quote(incident, safe='')}"


def dress(incidents: list[dict[str, Any]]) -> list[dict[str, object]]:
    """*incidents* (from the store) with ``key`` (``SITE/INCIDENT``), ``level``, ``url``,
    and each occurrence's ``zone_list``."""
    for inc in incidents:
        inc["key"] = f"{inc['site']}/{inc['incident']}"
        inc["level"] = level(inc)
        inc["url"] = incident_url(str(inc["site"]), str(inc["incident"]))
        for o in inc.get("occurrences") or []:
            o["zone_list"] = _zones(o.get("zones"))
    return incidents


def _zones(raw: object) -> list[str]:
    if isinstance(raw, list):
        return [str(z) for z in raw]
    try:
        value = json.loads(str(raw or "[]"))
    except ValueError:
        return []
    return [str(z) for z in value] if isinstance(value, list) else []


def public(inc: Mapping[str, object]) -> dict[str, object]:
    """An incident as JSON can carry it (``/api/incidents``)."""
    return json.loads(json.dumps(inc, default=str))  # type: ignore[no-any-return]


def new_alarms(
    db: Database, after: int, site_label: Callable[[str], object] = str
) -> tuple[list[dict[str, object]], int]:
    """Unacknowledged incidents (any site, no filter) in which an alarm or critical
    occurrence began after seq *after*: the first :data:`ALARMS` of them (key, level, title
    in the current language with the site's *site_label*, seq: where the latest such
    occurrence began) and how many
    there are (past :data:`ALARMS`: the unacknowledged alarm incidents changed after
    *after*, an upper bound)."""
    q = ConsoleQuery(unacked=True, min_rank=2, after_seq=after, limit=ALARMS)
    incidents = console.incidents(db, q)
    found = []
    for inc in incidents:
        began = [o for o in inc["occurrences"]
                 if int(o["first_seq"]) > after and rank(o["severity"]) >= 2]  # fmt: skip
        if began:
            kinds = ", ".join(kindname(k) for k in str(inc["kinds"]).split(",") if k)
            found.append({"key": f"{inc['site']}/{inc['incident']}", "level": level(inc),
                          "title": f"{kinds} · {site_label(str(inc['site']))}",
                          "seq": max(int(o["first_seq"]) for o in began)})  # fmt: skip
    if len(incidents) < ALARMS:
        return found, len(found)
    return found, console.count_after(db, dataclasses.replace(q, after_seq=None), after)
