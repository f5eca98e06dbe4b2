"""The fleet board's reads beyond :func:`edge.receiver.store.reads.nodes`: since when each
offline node has been offline, and how many refused messages each node's topics carried
(quarantine rows kept, and the forged messages its open ``forged_message`` alerts count)."""

from __future__ import annotations

from typing import Any

from edge.receiver.store import reads
from edge.receiver.store.database import Database

STATES = ("offline", "degraded", "never seen", "online")
"""Board states, the one that needs an officer first."""


def _offline_since(db: Database) -> dict[tuple[str, str], float]:
    """(site, node) -> since when it is offline: the node's last will (``offline_since``),
    else the first raise of its open ``node_offline`` alert."""
    out: dict[tuple[str, str], float] = {}
    for site, node, raised in db.query(
        "SELECT site, node, MIN(raised) FROM alerts WHERE kind = 'node_offline'"
        " AND cleared IS NULL GROUP BY site, node"
    ):
        out[(str(site), str(node))] = float(raised)
    for site, node, since in db.query(
        "SELECT site, node, offline_since FROM nodes WHERE offline_since IS NOT NULL"
    ):
        key = (str(site), str(node))
        out[key] = min(float(since), out.get(key, float(since)))
    return out


def _quarantined(db: Database, prefix: str) -> dict[tuple[str, str], int]:
    """(site, node) -> quarantine rows whose topic names that enrolled node."""
    rows = db.query(
        "SELECT n.site, n.node, COUNT(*) FROM quarantine q JOIN nodes n ON q.node = n.node"
        " AND q.topic LIKE ? || n.site || '/' || n.node || '/' || ? GROUP BY n.site, n.node",
        (prefix.rstrip("/") + "/", "%"),
    )
    return {(str(s), str(n)): int(c) for s, n, c in rows}


def board(db: Database, prefix: str = "warehouse") -> list[dict[str, Any]]:
    """Every enrolled node as :func:`reads.nodes` has it, plus ``offline_since`` (UNIX s or
    None), ``quarantined`` (rows kept) and ``stale`` (its health is the last one heard from
    a node that is no longer online: shown as stale, not current)."""
    since = _offline_since(db)
    kept = _quarantined(db, prefix)
    out = []
    for n in reads.nodes(db):
        key = (str(n["site"]), str(n["node"]))
        offline = n["state"] == "offline"
        at = since.get(key) if offline else None
        if offline and at is None and n["last_seen"] is not None:
            at = float(n["last_seen"])
        out.append({**n, "offline_since": at, "quarantined": kept.get(key, 0),
                    "stale": offline and n["last_seen"] is not None})  # fmt: skip
    return out


def state_rank(state: str) -> int:
    """Position of *state* in :data:`STATES` (unknown ones last)."""
    return STATES.index(state) if state in STATES else len(STATES)
