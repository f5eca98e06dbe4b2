"""Read-only views of the store for the command line and the dashboard."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from edge.receiver.store import eventlist
from edge.receiver.store.database import Database
from edge.receiver.store.eventlist import EVENT_COLUMNS, EventQuery
from edge.receiver.store.healthview import health_view


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list (newest first)."""

    node: str | None = None
    site: str | None = None
    kind: str | None = None
    severity: str | None = None
    since: float | None = None
    """Received at or after this UNIX time."""
    before_seq: int | None = None
    """Page: only events older than this one."""
    limit: int = 50


def events(db: Database, f: EventFilter) -> list[dict[str, object]]:
    """Events matching *f*, newest first (the shared list:
    :func:`edge.receiver.store.eventlist.events`)."""
    q = EventQuery(node=f.node, site=f.site, kind=f.kind, severity=f.severity, since=f.since,
                   before_seq=f.before_seq, limit=max(1, min(f.limit, 1000)))  # fmt: skip
    return eventlist.events(db, q)


def locate(db: Database, event_id: str) -> list[tuple[str, str]]:
    """(site, node) of every stored event with id *event_id* (ids are unique per node)."""
    rows = db.query("SELECT site, node FROM events WHERE id = ? ORDER BY site, node LIMIT 100",
                    (event_id,))  # fmt: skip
    return [(str(s), str(n)) for s, n in rows]


def event(db: Database, site: str, node: str, event_id: str) -> dict[str, Any] | None:
    """The event *event_id* of *site*/*node* with its payload, its clip (state, path,
    manifest) and its snapshot."""
    rows = db.query(
        f"SELECT {', '.join(EVENT_COLUMNS)}, payload FROM events"  # noqa: S608
        " WHERE site = ? AND node = ? AND id = ?",
        (site, node, event_id),
    )
    if not rows:
        return None
    out = dict(zip((*EVENT_COLUMNS, "payload"), rows[0], strict=True))
    out["payload"] = json.loads(out["payload"])
    out["clip"] = None
    if out["clip_id"]:
        clip = db.query(
            "SELECT state, path, size, sha256, envelope, detail, deleted FROM clips"
            " WHERE site = ? AND node = ? AND clip_id = ?",
            (out["site"], out["node"], out["clip_id"]),
        )
        if clip:
            state, path, size, sha, envelope, detail, deleted = clip[0]
            signed = json.loads(envelope) if envelope else None
            out["clip"] = {
                "state": state,
                "path": path,
                "size": size,
                "sha256": sha,
                "detail": detail,
                "key_id": signed.get("key_id") if signed else None,
                "mask_hash": signed["manifest"].get("mask_hash") if signed else None,
                "signature": "verified" if signed else "no manifest yet",
                "deleted": deleted,  # by retention (edge/receiver/retention.py), when
            }
    if out["snapshot_id"]:
        snap = db.query(
            "SELECT path, sha256, deleted FROM snapshots WHERE site = ? AND node = ? AND id = ?",
            (out["site"], out["node"], out["snapshot_id"]),
        )
        out["snapshot"] = (
            {"path": snap[0][0], "sha256": snap[0][1], "deleted": snap[0][2]} if snap else None
        )
    return out


def find_event(db: Database, event_id: str, node: str | None = None) -> dict[str, object]:
    """The one event with id *event_id* (of *node*, ``SITE/NODE``, when given); LookupError
    saying why when there is none, or several nodes have one with this id."""
    found = locate(db, event_id)
    if node is not None:
        found = [k for k in found if f"{k[0]}/{k[1]}" == node]
    if len(found) > 1:
        names = ", ".join(f"{s}/{n}" for s, n in found)
        raise LookupError(f"event {event_id} exists on several nodes ({names}): name one"
                          " with --node SITE/NODE")  # fmt: skip
    out = event(db, *found[0], event_id) if found else None
    if out is None:
        raise LookupError(f"no event {event_id}" + (f" of {node}" if node else ""))
    return out


def nodes(db: Database) -> list[dict[str, Any]]:
    """The fleet board: every enrolled node with its last heartbeat, the kinds of the
    receiver's open alerts about it and how many forged messages its topics carried in
    the open forged_message alerts."""
    open_alerts: dict[tuple[str, str], list[str]] = {}
    forged: dict[tuple[str, str], int] = {}
    for kind, site, node, times in db.query(
        "SELECT kind, site, node, SUM(times) FROM alerts WHERE cleared IS NULL"
        " GROUP BY kind, site, node ORDER BY kind"
    ):
        open_alerts.setdefault((str(site), str(node)), []).append(str(kind))
        if kind == "forged_message":
            forged[(str(site), str(node))] = int(times)
    out = []
    now = time.time()
    for site, node, key_id, last_seen, health, status, online in db.query(
        "SELECT site, node, key_id, last_seen, last_health, health_status, online FROM nodes"
        " ORDER BY site, node"
    ):
        alerts = open_alerts.get((str(site), str(node)), [])
        state = ("never seen" if not last_seen  # even when supervision calls it offline
                 else "offline" if "node_offline" in alerts
                 else "degraded" if "node_degraded" in alerts or status == "degraded"
                 else "online")  # fmt: skip
        out.append({
            "site": site, "node": node, "key_id": key_id, "state": state,
            "last_seen": last_seen,
            "age_s": None if last_seen is None else round(now - float(last_seen), 1),
            "online_flag": bool(online), "health_status": status,
            **health_view(health), "alerts": alerts,
            "forged": forged.get((str(site), str(node)), 0),
        })  # fmt: skip
    return out


_ALERT_COLUMNS = ("seq", "kind", "site", "node", "ref", "raised", "cleared", "detail",
                  "times", "last_raised")  # fmt: skip


def alerts(db: Database, *, open_only: bool = True, limit: int = 200) -> list[dict[str, object]]:
    """The receiver's own alerts, newest first: ``raised`` the first occurrence,
    ``last_raised`` the last and ``times`` how many (forged_message counts its window)."""
    clause = " WHERE cleared IS NULL" if open_only else ""
    rows = db.query(
        f"SELECT seq, kind, site, node, ref, raised, cleared, detail, times,"  # noqa: S608
        f" COALESCE(last_raised, raised) FROM alerts{clause} ORDER BY seq DESC LIMIT ?",
        (limit,),
    )
    return [dict(zip(_ALERT_COLUMNS, r, strict=True)) for r in rows]


def quarantine(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Rejected messages, newest first, without payloads: ``size`` is the payload's, of
    which ``kept`` bytes are stored (a prefix)."""
    cols = ("seq", "received", "topic", "node", "id", "reason", "detail", "sha256", "size",
            "kept")  # fmt: skip
    rows = db.query(
        "SELECT seq, received, topic, node, id, reason, detail, sha256,"
        " COALESCE(size, length(payload)), length(payload) FROM quarantine"
        " ORDER BY seq DESC LIMIT ?",
        (limit,),
    )
    return [dict(zip(cols, r, strict=True)) for r in rows]


def dropped(db: Database) -> dict[str, dict[str, object]]:
    """What the store dropped to stay bounded, by what (``quarantine``: oldest quarantined
    messages over the cap; ``orphan_chunks_expired``/``_evicted``: chunks of clips that
    never completed): count, bytes and the last time."""
    rows = db.query("SELECT what, count, bytes, last FROM dropped ORDER BY what")
    return {str(w): {"count": int(c), "bytes": int(b), "last": t} for w, c, b, t in rows}


def quarantine_summary(db: Database) -> dict[str, object]:
    """Messages in quarantine, those dropped from it, and the open forged_message alerts
    with the messages they count."""
    kept = db.query("SELECT COUNT(*) FROM quarantine")[0][0]
    forged = db.query(
        "SELECT COUNT(*), COALESCE(SUM(times), 0) FROM alerts"
        " WHERE kind = 'forged_message' AND cleared IS NULL"
    )[0]
    gone = dropped(db).get("quarantine", {"count": 0, "bytes": 0, "last": None})
    return {"kept": int(kept), "dropped": gone["count"], "dropped_bytes": gone["bytes"],
            "forged_alerts": int(forged[0]), "forged_messages": int(forged[1])}  # fmt: skip


def describe_quarantine(db: Database) -> str:
    """:func:`quarantine_summary` as one line (for the command line)."""
    s = quarantine_summary(db)
    return (f"# {s['kept']} kept, {s['dropped']} older dropped ({s['dropped_bytes']} bytes);"
            f" {s['forged_alerts']} open forged_message alerts counting"
            f" {s['forged_messages']} messages")  # fmt: skip


def audit_heads(db: Database, site: str, node: str, limit: int = 100) -> list[dict[str, object]]:
    """Audit chain heads a node reported in its heartbeats, newest first: any of them must
    still be in the node's log (``edge audit verify --head HASH``), or the log was cut."""
    rows = db.query(
        "SELECT head, time FROM audit_heads WHERE site = ? AND node = ? ORDER BY time DESC LIMIT ?",
        (site, node, limit),
    )
    return [{"head": h, "time": t} for h, t in rows]


def media_path(db: Database, kind: str, site: str, node: str, sha256: str) -> str | None:
    """Where *site*/*node*'s complete clip (*kind* ``clip``) or snapshot (any other) with
    *sha256* is stored."""
    if kind == "clip":
        sql = ("SELECT path FROM clips WHERE sha256 = ? AND site = ? AND node = ?"
               " AND state = 'complete' LIMIT 1")  # fmt: skip
    else:
        sql = "SELECT path FROM snapshots WHERE sha256 = ? AND site = ? AND node = ? LIMIT 1"
    rows = db.query(sql, (sha256, site, node))
    return str(rows[0][0]) if rows and rows[0][0] else None
