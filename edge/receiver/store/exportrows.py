"""What the police access export (:mod:`edge.receiver.access.export`) reads: the
acknowledgement chain's records in batches, the time-ordered search for a period's first
record, and the events, clips and snapshots received in a period with what retention
deleted of them."""

from __future__ import annotations

from collections.abc import Sequence

from edge.receiver.store.database import Database


def chain_batch(db: Database, after: int, last: int, limit: int) -> list[tuple[int, str]]:
    """(seq, record text) of the chain's records after *after* up to *last*, in order, at
    most *limit*."""
    rows = db.query("SELECT seq, record FROM ack_chain WHERE seq > ? AND seq <= ?"
                    " ORDER BY seq LIMIT ?", (after, last, limit))  # fmt: skip
    return [(r[0], r[1]) for r in rows]


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


def first_record_not_of(db: Database, seq: int, last: int, actions: Sequence[str]) -> str | None:
    """The text of the first record in *seq*..*last* whose action is none of *actions*
    (None: none)."""
    rows = db.query(
        "SELECT record FROM ack_chain WHERE seq >= ? AND seq <= ? AND action NOT IN"  # noqa: S608
        f" ({_marks(actions)}) ORDER BY seq LIMIT 1",
        (seq, last, *actions),
    )
    return rows[0][0] if rows else None


def first_indexed_since(db: Database, since: float, actions: Sequence[str]) -> int | None:
    """The lowest seq of an indexed access of *actions* at or after *since* (None: none)."""
    rows = db.query(f"SELECT MIN(seq) FROM access_log WHERE time >= ? AND action IN"  # noqa: S608
                    f" ({_marks(actions)})", (since, *actions))  # fmt: skip
    return rows[0][0] if rows else None


def _where(alias: str, site: str | None, node: str | None) -> tuple[str, list[object]]:
    sql, params = "", list[object]()
    for col, value in (("site", site), ("node", node)):
        if value:
            sql += f" AND {alias}.{col} = ?"
            params.append(value)
    return sql, params


def received_events(
    db: Database, since: float, until: float, site: str | None, node: str | None
) -> list[tuple[str, str, str, str, str | None, float, str | None]]:
    """(site, node, id, kind, camera, received, payload sha256) of the events received in
    [*since*, *until*] (of *site*/*node* when given), in order."""
    more, params = _where("e", site, node)
    return list(db.query(
        "SELECT e.site, e.node, e.id, e.kind, e.camera, e.received, v.sha256 FROM events e"  # noqa: S608
        " LEFT JOIN seen v ON v.site = e.site AND v.node = e.node AND v.id = e.id"
        f" WHERE e.received >= ? AND e.received <= ?{more} ORDER BY e.seq",
        (since, until, *params),
    ))  # fmt: skip


def complete_clips(
    db: Database, since: float, until: float, site: str | None, node: str | None
) -> list[
    tuple[str, str, str, str | None, str | None, float, float | None, int | None, str | None]
]:
    """(site, node, clip id, camera, sha256, stored, deleted, deleted_seq, kind of its
    first event) of the clips stored whole in [*since*, *until*], in order."""
    more, params = _where("c", site, node)
    return list(db.query(
        "SELECT c.site, c.node, c.clip_id, c.camera, c.sha256, c.updated, c.deleted,"  # noqa: S608
        " c.deleted_seq, (SELECT MIN(e.kind) FROM events e WHERE e.site = c.site AND"
        " e.node = c.node AND e.clip_id = c.clip_id) FROM clips c WHERE c.state = 'complete'"
        f" AND c.updated >= ? AND c.updated <= ?{more} ORDER BY c.updated",
        (since, until, *params),
    ))  # fmt: skip


def received_snapshots(
    db: Database, since: float, until: float, site: str | None, node: str | None
) -> list[tuple[str, str, str, str, float, float | None, int | None, str | None, str | None]]:
    """(site, node, id, sha256, received, deleted, deleted_seq, camera and kind of its
    first event) of the snapshots received in [*since*, *until*], in order."""
    more, params = _where("p", site, node)
    return list(db.query(
        "SELECT p.site, p.node, p.id, p.sha256, p.received, p.deleted, p.deleted_seq,"  # noqa: S608
        " e.camera, e.kind FROM snapshots p LEFT JOIN events e ON e.site = p.site AND"
        " e.node = p.node AND e.snapshot_id = p.id AND e.seq = (SELECT MIN(x.seq) FROM events"
        " x WHERE x.site = p.site AND x.node = p.node AND x.snapshot_id = p.id)"
        f" WHERE p.received >= ? AND p.received <= ?{more} ORDER BY p.received",
        (since, until, *params),
    ))  # fmt: skip
