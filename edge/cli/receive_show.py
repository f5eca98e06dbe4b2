"""``edge receive show`` for a person: the event's facts, its incident's workflow status and
its clip's verification, times in the display zone with its label, sizes readable, hashes
whole, no file paths (``--json`` has everything as stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.core.displaytime import DisplayTimeError

if TYPE_CHECKING:
    from edge.core.displaytime import DisplayZone
    from edge.receiver.config import ReceiverConfig
    from edge.receiver.store.database import Database


def _size(n: object) -> str:
    if not isinstance(n, int | float):
        return "?"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def _time(zone: DisplayZone, value: object) -> str:
    try:
        return zone.when(value if isinstance(value, int | float | str) else None)
    except DisplayTimeError:
        return str(value)


def _incident(db: Database, event: dict[str, Any]) -> dict[str, Any] | None:
    from edge.receiver.store.lookups import event_incident

    return event_incident(db, str(event["site"]), str(event["node"]), str(event["id"]))


def human(db: Database, event: dict[str, Any], zone: DisplayZone, cfg: ReceiverConfig) -> str:
    """The lines of ``show`` for *event* (as :func:`edge.receiver.store.reads.event` gives
    it, with ``verification``)."""
    from edge.receiver.places import from_config

    places = from_config(cfg)
    site, node = event["site"], event["node"]
    payload = event.get("payload") or {}
    lines = [
        ("event", event["id"]),
        ("node", f"{site}/{node} ({places.site_label(site)} / {places.node_label(site, node)})"),
        ("kind", f"{event['kind']}  severity {event['severity']}  state {event['state']}"),
        ("time", f"{_time(zone, event['time'])} (the node's clock)"),
        ("received", _time(zone, event["received"])),
    ]
    where = [f"{k} {event[k]}" for k in ("camera", "sensor") if event.get(k)]
    zones = payload.get("zones") if isinstance(payload, dict) else None
    if zones:
        where.append("zones " + ", ".join(str(z) for z in zones))
    if where:
        lines.append(("where", "  ".join(where)))
    inc = _incident(db, event)
    if inc is not None:
        status = str(inc["status"])
        if inc["acked_by"]:
            status += f" (acknowledged by {inc['acked_by']} at {_time(zone, inc['acked_at'])})"
        if inc["assignee"]:
            status += f", assigned to {inc['assignee']}"
        if inc["outcome"]:
            status += f", outcome {inc['outcome']}"
        lines.append(("incident", f"{inc['incident']}  {status}"))
    clip = event.get("clip")
    if clip:
        lines.append(("clip", f"{clip.get('state')}, {_size(clip.get('size'))}, sha256 "
                              f"{clip.get('sha256') or '-'}"))  # fmt: skip
    elif event.get("clip_id"):
        lines.append(("clip", f"{event['clip_id']} (not received yet)"))
    snap = event.get("snapshot")
    if snap:
        lines.append(("snapshot", f"sha256 {snap.get('sha256')}"))
    v = event.get("verification") or {}
    lines.append(
        ("verified", ("OK: " if v.get("ok") else "NOT verified: ") + str(v.get("detail", "")))
    )
    width = max(len(k) for k, _ in lines)
    return "".join(f"{k.ljust(width)}  {v}\n" for k, v in lines)
