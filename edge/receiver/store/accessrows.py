"""The police access record's rows: ``access_viewings`` (a clip played or a snapshot seen,
merged per user and item while requests keep coming, until it is chained) and
``access_log`` (the index of the access records in the acknowledgement chain, by seq).
The rules are :mod:`edge.receiver.access.record`'s and :mod:`edge.receiver.access.log`'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from edge.receiver.store.database import Cursor, Database

VIEW_COLUMNS = ("seq", "username", "role", "type", "site", "node", "item_id", "sha256",
                "viewing", "started", "last", "requests", "ranges", "size")  # fmt: skip
"""A pending viewing's columns."""


class Viewing(TypedDict):
    """A pending viewing (:data:`VIEW_COLUMNS`)."""

    seq: int
    username: str
    role: str
    type: str
    site: str
    node: str
    item_id: str | None
    sha256: str
    viewing: str | None
    started: float
    last: float
    requests: int
    ranges: str
    """JSON: the byte ranges served."""
    size: int | None


def _viewing(r: Sequence[Any]) -> Viewing:
    return Viewing(
        seq=r[0], username=r[1], role=r[2], type=r[3], site=r[4], node=r[5], item_id=r[6],
        sha256=r[7], viewing=r[8], started=r[9], last=r[10], requests=r[11], ranges=r[12],
        size=r[13],
    )  # fmt: skip


def open_viewing(
    cur: Cursor, who: str, item: tuple[str | None, ...], *, last_after: float,
    started_after: float,
) -> tuple[int, str, str | None] | None:  # fmt: skip
    """(seq, ranges, viewing) of *who*'s latest viewing of *item* (type, sha256, site,
    node) still going: its last request at or after *last_after*, started at or after
    *started_after* (None: none)."""
    row = cur.execute(
        "SELECT seq, ranges, viewing FROM access_viewings WHERE username = ?"
        " AND type = ? AND sha256 = ? AND site = ? AND node = ? AND last >= ?"
        " AND started >= ? ORDER BY last DESC LIMIT 1",
        (who, *item, last_after, started_after),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def extend_viewing(cur: Cursor, seq: int, now: float, ranges: str, viewing: str | None) -> None:
    """One more request of viewing *seq* at *now*: its ranges (JSON) merged by the caller,
    its viewing id kept or set."""
    cur.execute(
        "UPDATE access_viewings SET last = ?, requests = requests + 1, ranges = ?,"
        " viewing = COALESCE(viewing, ?) WHERE seq = ?",
        (now, ranges, viewing, seq),
    )


def add_viewing(cur: Cursor, row: dict[str, object]) -> None:
    """A new viewing: *row* holds every column of :data:`VIEW_COLUMNS` but ``seq``,
    ``last`` (= ``started``) and ``requests`` (1)."""
    cur.execute(
        "INSERT INTO access_viewings (username, role, type, site, node, item_id, sha256,"
        " viewing, started, last, requests, ranges, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, 1, ?, ?)",
        (row["username"], row["role"], row["type"], row["site"], row["node"], row["item_id"],
         row["sha256"], row["viewing"], row["started"], row["started"], row["ranges"],
         row["size"]),
    )  # fmt: skip


def ended_viewings(cur: Cursor, last_before: float, started_before: float) -> list[Viewing]:
    """The viewings whose last request came before *last_before* or that started before
    *started_before*, oldest first (:data:`VIEW_COLUMNS`)."""
    rows = cur.execute(
        f"SELECT {', '.join(VIEW_COLUMNS)} FROM access_viewings"  # noqa: S608
        " WHERE last < ? OR started < ? ORDER BY started, seq",
        (last_before, started_before),
    ).fetchall()
    return [_viewing(r) for r in rows]


def drop_viewing(cur: Cursor, seq: int) -> None:
    """The viewing *seq* is chained: its row goes."""
    cur.execute("DELETE FROM access_viewings WHERE seq = ?", (seq,))


def viewings(db: Database) -> list[Viewing]:
    """Every viewing not chained yet, newest first (:data:`VIEW_COLUMNS`)."""
    rows = db.query(f"SELECT {', '.join(VIEW_COLUMNS)} FROM access_viewings ORDER BY last DESC")  # noqa: S608
    return [_viewing(r) for r in rows]


def index_access(cur: Cursor, rec: dict[str, object], action: str, user: str,
                 item: tuple[str | None, ...]) -> None:  # fmt: skip
    """Index the access record *rec* (its ``seq`` and ``time``) of *user*'s *action* on
    *item* (type, id, site, node)."""
    cur.execute(
        "INSERT INTO access_log (seq, time, username, action, type, item_id, site, node)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (rec["seq"], rec["time"], user, action, *item),
    )


_ACCESS_FILTERS = ("a.time >= ?", "a.time <= ?", "a.username = ?", "a.site = ?", "a.node = ?")


def access_rows(
    db: Database, filters: Sequence[object], limit: int | None
) -> list[tuple[int, float, str, str, str, str, str | None, str | None, str | None]]:
    """(seq, time, username, action, type, item_id, site, node, chain record text or None)
    of the indexed accesses, newest first, at most *limit* (None: all): *filters* are the
    since, until, user, site and node to match (None or empty: any)."""
    clauses, params = [], []
    for sql, value in zip(_ACCESS_FILTERS, filters, strict=True):
        if value is not None and value != "":
            clauses.append(sql)
            params.append(value)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    cols = "a.seq, a.time, a.username, a.action, a.type, a.item_id, a.site, a.node, c.record"
    joined = "access_log a LEFT JOIN ack_chain c ON c.seq = a.seq"
    sql = f"SELECT {cols} FROM {joined}{where} ORDER BY a.time DESC, a.seq DESC"  # noqa: S608
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [tuple(r) for r in db.query(sql, tuple(params))]
