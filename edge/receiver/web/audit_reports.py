"""``/audit/reports`` for auditors and admins: make a signed receiver export for a period
(:func:`edge.receiver.access.export.write_export`) and download it; the nodes' sharing
reports found under ``[transparency] reports_dir``, each with its verification and its
reconciliation with the newest export covering it (:mod:`edge.receiver.web.audit_files`).
Dates are days in the display zone (WIB): an export from day A to day B covers A 00:00 to
the end of B (or now, when B is today)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from edge.core.displaytime import DisplayZone
from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.receiver.access.export import write_export
from edge.receiver.web import audit_files
from edge.receiver.web.audit_access import node_of, nodes, users
from edge.receiver.web.context import Dashboard, blocking, dashboard
from edge.receiver.web.csrf import checked_form
from edge.receiver.web.forbidden import audit_session
from edge.receiver.web.params import text

log = get_logger(__name__)

MAX_DAYS = 400
"""The longest period one export from the page covers."""


def _day(raw: str | None, name: str) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        shown = (raw or "")[:20].encode("ascii", "backslashreplace").decode()
        raise HTTPException(400, f"{name}: a date YYYY-MM-DD, not {shown!r}") from None


def period(since_day: str | None, until_day: str | None, zone: DisplayZone, now: float
           ) -> tuple[float, float]:  # fmt: skip
    """The period from the start of *since_day* to the end of *until_day* (days in *zone*),
    cut at *now*; 400 when it is empty, reversed or longer than :data:`MAX_DAYS`."""
    a, b = _day(since_day, "since"), _day(until_day, "until")
    if b < a or (b - a).days >= MAX_DAYS:
        raise HTTPException(400, f"until must be on or after since, at most {MAX_DAYS} days")
    since = datetime(a.year, a.month, a.day, tzinfo=zone.tz).timestamp()
    end = b + timedelta(days=1)
    until = min(datetime(end.year, end.month, end.day, tzinfo=zone.tz).timestamp(), now)
    if until <= since:
        raise HTTPException(400, "since lies in the future")
    return since, until


def _view(d: Dashboard) -> dict[str, Any]:
    t = d.cfg.transparency
    made = audit_files.exports(d.db, t.exports(d.cfg.data_dir))
    found = audit_files.reports(d.db, t.reports(d.cfg.data_dir), made)
    days = {r.name: (_date(d.zone, r.period[0]), _date(d.zone, max(r.period[1] - 1, r.period[0])))
            for r in found}  # fmt: skip
    return {"exports": made, "reports": found, "days": days,
            "reports_dir": t.reports(d.cfg.data_dir)}  # fmt: skip


def _date(zone: DisplayZone, when: float) -> str:
    """The day of *when* in *zone* (``YYYY-MM-DD``)."""
    return zone.local(when).date().isoformat()


async def reports_page(request: Request) -> Response:
    """GET /audit/reports."""
    s = await audit_session(request)
    if isinstance(s, Response):
        return s
    d = dashboard(request)
    data = await blocking(_view, d)
    today = datetime.fromtimestamp(time.time(), d.zone.tz).date()
    picks: dict[str, Any] = {
        "nodes": await blocking(nodes, d.db),
        "users": await blocking(users, d.db),
    }
    made = (request.query_params.get("made") or "")[:120]
    return d.render(request, "audit_reports.html", made=made,
                    today=today.isoformat(), week_ago=(today - timedelta(days=6)).isoformat(),
                    **picks, **data)  # fmt: skip


def _make(d: Dashboard, user: str, span: tuple[float, float], *, site: str | None,
          node: str | None, who: str | None) -> Path:  # fmt: skip
    root = d.cfg.transparency.exports(d.cfg.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    since, until = span
    days = [d.zone.local(t).strftime("%Y%m%d") for t in (since, until - 1)]
    made = d.zone.local(time.time()).strftime("%H%M%S")
    out = root / "-".join(("export", *days, site or "all", node or "all", made))
    path = write_export(d.store, d.workflow.appender, since, until, out, site=site, node=node,
                        user=who, made_by=user, zone=d.zone)  # fmt: skip
    log.info("audit.export_made", user=user, out=str(path), since=since, until=until,
             site=site, node=node, filter_user=who)  # fmt: skip
    return Path(path)


async def make_export(request: Request) -> Response:
    """POST /audit/reports/export (``since``, ``until`` days, ``node`` ``SITE/NODE`` or
    ``SITE``, ``user``): a signed export into ``exports_dir``, then the page."""
    s = await audit_session(request)
    if isinstance(s, Response):
        return s
    d = dashboard(request)
    form = await checked_form(request, s.csrf)
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    since, until = period(fields.get("since"), fields.get("until"), d.zone, time.time())
    site, node = node_of(text(fields, "node", 130))
    who = text(fields, "user", 64)
    try:
        path = await blocking(_make, d, s.user, (since, until), site=site, node=node, who=who)
    except (EdgeError, OSError) as e:
        log.error("audit.export_failed", user=s.user, error=str(e))
        raise HTTPException(500, f"the export could not be written: {e}") from e
    return RedirectResponse(f"/audit/reports?made={path.name}", 303)


async def download(request: Request) -> Response:
    """GET /audit/reports/download/{export|report}/NAME: the bundle as a zip."""
    s = await audit_session(request)
    if isinstance(s, Response):
        return s
    d = dashboard(request)
    which, name = str(request.path_params["which"]), str(request.path_params["name"])
    t = d.cfg.transparency
    roots = {"export": (t.exports(d.cfg.data_dir), audit_files.EXPORT),
             "report": (t.reports(d.cfg.data_dir), audit_files.REPORT)}  # fmt: skip
    if which not in roots:
        raise HTTPException(404, "no such bundle")
    root, main = roots[which]
    found = audit_files.bundle_dir(root, name, main)
    if found is None:
        raise HTTPException(404, f"no {which} {name!r}")
    data = await blocking(audit_files.zipped, found)
    log.info("audit.bundle_downloaded", user=s.user, which=which, name=name)

    def chunks() -> Any:
        with data:
            while block := data.read(1 << 16):
                yield block

    disposition = f'attachment; filename="{found.name}.zip"'
    return StreamingResponse(chunks(), media_type="application/zip",
                             headers={"content-disposition": disposition})  # fmt: skip


ROUTES = [
    Route("/audit/reports", reports_page, methods=["GET"]),
    Route("/audit/reports/export", make_export, methods=["POST"]),
    Route("/audit/reports/download/{which}/{name:path}", download, methods=["GET"]),
]
