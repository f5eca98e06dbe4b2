"""Readable names of kinds, severities and incident states, and the words around times
("3 mnt lalu", "2 mnt 5 dtk"), in the current language (:mod:`edge.receiver.web.i18n`).

The tables below map stored values to English msgids (marked with ``N_`` for extraction);
the catalogs translate them. A value without a name is shown as it is stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TypeVar

import jinja2
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal

from edge.core.displaytime import DisplayTimeError, DisplayZone, moment, span
from edge.core.kinds import Kind, Severity
from edge.core.logs import get_logger
from edge.receiver.alerts import AlertKind
from edge.receiver.web import i18n
from edge.receiver.web.i18n import N_, current, gettext, ngettext

KIND_NAMES: Mapping[str, str] = {
    Kind.MOTION: N_("Motion"),
    Kind.PERSON: N_("Person"),
    Kind.DOOR_OPEN: N_("Door open"),
    Kind.DOOR_LEFT_OPEN: N_("Door left open"),
    Kind.SMOKE: N_("Smoke"),
    Kind.TAMPER: N_("Device tampered"),
    Kind.PIR: N_("Motion sensor (PIR)"),
    Kind.CAMERA_FAULT: N_("Camera fault"),
    Kind.CAMERA_RESTORED: N_("Camera restored"),
    Kind.CAMERA_TAMPERED: N_("Camera covered"),
    Kind.LIGHTS_OFF: N_("Lights off"),
    Kind.SENSOR_FAULT: N_("Sensor fault"),
    Kind.CLIP_LOST: N_("Clip lost"),
    Kind.OUTBOX_RECOVERED: N_("Outbox rebuilt"),
    Kind.NODE_HEALTH: N_("Node health"),
    AlertKind.FORGED_MESSAGE: N_("Forged message"),
    AlertKind.NODE_OFFLINE: N_("Node offline"),
    AlertKind.NODE_DEGRADED: N_("Node degraded"),
    AlertKind.CLIP_INCOMPLETE: N_("Clip incomplete"),
    AlertKind.CLIP_CORRUPT: N_("Clip corrupt"),
    AlertKind.STORE_CORRUPT: N_("Database corrupt"),
    AlertKind.CLIP_CONFLICT: N_("Conflicting clip"),
    AlertKind.CERT_EXPIRING: N_("Certificate expiring"),
    AlertKind.CRL_EXPIRING: N_("Revocation list expiring"),
}
"""Every event kind of a node and every alert kind of the receiver."""

SEVERITY_NAMES: Mapping[str, str] = {
    Severity.INFO: N_("Info"),
    Severity.WARNING: N_("Warning"),
    Severity.ALARM: N_("Alarm"),
    Severity.CRITICAL: N_("Critical"),
}

STATUS_NAMES: Mapping[str, str] = {
    "new": N_("New"),
    "acknowledged": N_("Acknowledged"),
    "in_progress": N_("In progress"),
    "closed": N_("Closed"),
    "open": N_("Open"),
}
"""An incident's workflow states (and ``open``: any but closed, a filter)."""

log = get_logger(__name__)

OUTCOME_NAMES: Mapping[str, str] = {
    "false_alarm": N_("False alarm"),
    "patrol_sent": N_("Patrol sent"),
    "police_report": N_("Police report"),
    "test": N_("Test"),
    "other": N_("Other"),
}
"""How a closed incident ended (:data:`edge.receiver.store.incidents.OUTCOMES`)."""

ROLE_NAMES: Mapping[str, str] = {
    "viewer": N_("Viewer"),
    "officer": N_("Officer"),
    "admin": N_("Administrator"),
    "auditor": N_("Auditor"),
}

JUST_NOW_S = 10
"""Younger than this: "just now"."""


def _named(table: Mapping[str, str], value: object) -> str:
    if value is None:
        return ""
    msgid = table.get(str(value))
    return gettext(msgid) if msgid else str(value)


def kindname(kind: object) -> str:
    """``door_open`` -> "Pintu terbuka" / "Door open"."""
    return _named(KIND_NAMES, kind)


def sevname(severity: object) -> str:
    """``critical`` -> "Kritis" / "Critical"."""
    return _named(SEVERITY_NAMES, severity)


def statusname(status: object) -> str:
    """``in_progress`` -> "Sedang ditangani" / "In progress"."""
    return _named(STATUS_NAMES, status)


def outcomename(outcome: object) -> str:
    """``false_alarm`` -> "Alarm palsu" / "False alarm"."""
    return _named(OUTCOME_NAMES, outcome)


def rolename(role: object) -> str:
    """``officer`` -> "Petugas" / "Officer"."""
    return _named(ROLE_NAMES, role)


def _unit(unit: str, n: int) -> str:
    if unit == "day":
        return ngettext("%(num)d day", "%(num)d days", n) % {"num": n}
    if unit == "hour":
        return ngettext("%(num)d hr", "%(num)d hr", n) % {"num": n}
    if unit == "minute":
        return ngettext("%(num)d min", "%(num)d min", n) % {"num": n}
    return ngettext("%(num)d s", "%(num)d s", n) % {"num": n}


def duration(seconds: object, units: int = 2) -> str:
    """Seconds as "2 mnt 5 dtk" / "2 min 5 s" (the largest *units* parts; empty for None)."""
    if seconds is None or seconds == "":
        return ""
    return " ".join(_unit(u, n) for u, n in span(float(str(seconds)), units))


def ago(value: object, now: float | None = None) -> str:
    """How long ago a moment (UNIX s or RFC 3339) was: "3 mnt lalu" / "3 min ago" (one
    unit; "baru saja" under 10 s; "dalam 2 mnt" for a moment ahead of the clock)."""
    if value is None or value == "":
        return ""
    at = moment(value if isinstance(value, int | float) else str(value)).timestamp()
    delta = (time.time() if now is None else now) - at
    if abs(delta) < JUST_NOW_S:
        return gettext("just now")
    shown = duration(abs(delta), units=1)
    if delta < 0:
        return gettext("in %(span)s") % {"span": shown}
    return gettext("%(span)s ago") % {"span": shown}


def ago_long(value: object, now: float | None = None) -> str:
    """The long form, from Babel's CLDR data: "3 menit yang lalu" / "3 minutes ago"."""
    if value is None or value == "":
        return ""
    at = moment(value if isinstance(value, int | float) else str(value)).timestamp()
    delta = at - (time.time() if now is None else now)
    return format_timedelta(timedelta(seconds=delta), add_direction=True, locale=current())


def long_when(value: object, zone: DisplayZone) -> str:
    """A moment with the weekday and month in words, in the display zone and the current
    language: "Senin, 7 Desember 2026 06:14:18 WIB" / "Monday, 7 December 2026 ..."."""
    if value is None or value == "":
        return ""
    at = zone.local(value if isinstance(value, int | float) else str(value))
    shown = format_datetime(at, "EEEE, d MMMM y HH:mm:ss", locale=current())
    return f"{shown} {zone.label}"


def number(value: object) -> str:
    """A number with the language's grouping: 12.345 (id) / 12,345 (en)."""
    if value is None or value == "":
        return ""
    return format_decimal(float(str(value)) if "." in str(value) else int(str(value)),
                          locale=current())  # fmt: skip


_V = TypeVar("_V")
"""What a time filter reads."""


def _tolerant(show: Callable[[_V], str]) -> Callable[[_V], str]:
    """A time filter that shows a value it cannot read as it is (logged) rather than
    failing the page."""

    def shown(value: _V) -> str:
        try:
            return show(value)
        except DisplayTimeError as e:
            log.warning("web.time_unreadable", value=str(value)[:64], error=str(e))
            return str(value)

    return shown


def install(env: jinja2.Environment, zone: DisplayZone) -> None:
    """Give *env*'s templates ``_``/``gettext``/``ngettext`` (newstyle: ``_("%(n)s new",
    n=3)``; the language of the request being rendered, :func:`i18n.use`) and the filters
    ``when``, ``clock``, ``longwhen``, ``ago``, ``agolong``, ``duration``, ``number``, ``kindname``,
    ``sevname``, ``statusname``, ``outcomename``, ``rolename``; globals ``zone_label`` and
    ``languages`` (the page's own language is ``lang``, set by the dashboard's render)."""
    install_callables = getattr(env, "install_gettext_callables")  # noqa: B009 (the extension's)
    install_callables(i18n.gettext, i18n.ngettext, newstyle=True,
                      pgettext=i18n.pgettext, npgettext=i18n.npgettext)  # fmt: skip
    env.filters.update(
        when=_tolerant(zone.when),
        clock=_tolerant(zone.clock),
        longwhen=_tolerant(lambda v: long_when(v, zone)),
        ago=ago,
        agolong=ago_long,
        duration=duration,
        number=number,
        kindname=kindname,
        sevname=sevname,
        statusname=statusname,
        outcomename=outcomename,
        rolename=rolename,
    )
    env.globals.update(zone_label=zone.label, languages=i18n.LANGUAGES)
