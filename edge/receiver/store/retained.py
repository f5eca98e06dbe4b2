"""What retention left, for the pages: whether a clip or snapshot was deleted by retention
(and when), and an incident's hold with the material of it that retention deleted."""

from __future__ import annotations

from edge.receiver.store.database import Database


def deleted_media(db: Database, kind: str, site: str, node: str, sha256: str) -> float | None:
    """When retention deleted *site*/*node*'s clip or snapshot with *sha256* (None: it was
    not, or another of its rows with those bytes is still kept)."""
    table = "clips" if kind == "clip" else "snapshots"
    rows = db.query(
        f"SELECT MAX(deleted), SUM(CASE WHEN deleted IS NULL THEN 1 ELSE 0 END)"  # noqa: S608
        f" FROM {table} WHERE sha256 = ? AND site = ? AND node = ?",
        (sha256, site, node),
    )
    if not rows or rows[0][0] is None or rows[0][1]:
        return None
    return float(rows[0][0])


def incident_retention(db: Database, site: str, incident: str) -> dict[str, object]:
    """``held`` (since when, by whom, why; None: not on hold) and ``deleted``: for each
    of the incident's clips and snapshots retention deleted, ``{(type, node, id): time}``."""
    held = db.query(
        "SELECT held, held_by, hold_reason FROM incidents WHERE site = ? AND incident = ?"
        " AND held IS NOT NULL",
        (site, incident),
    )
    deleted: dict[tuple[str, str, str], float] = {}
    rows = db.query(
        "SELECT 'clip', c.node, c.clip_id, c.deleted FROM occurrences o JOIN clips c"
        " ON c.site = o.site AND c.node = o.node AND c.clip_id = o.clip_id"
        " WHERE o.site = ? AND o.incident = ? AND c.deleted IS NOT NULL"
        " UNION ALL SELECT 'snapshot', s.node, s.id, s.deleted FROM occurrences o"
        " JOIN snapshots s ON s.site = o.site AND s.node = o.node AND s.id = o.snapshot_id"
        " WHERE o.site = ? AND o.incident = ? AND s.deleted IS NOT NULL",
        (site, incident, site, incident),
    )
    for kind, node, item_id, when in rows:
        deleted[(str(kind), str(node), str(item_id))] = float(when)
    hold = None
    if held:
        hold = {"held": float(held[0][0]), "held_by": held[0][1], "hold_reason": held[0][2]}
    return {"held": hold, "deleted": deleted}
