"""The rows retention (:mod:`edge.receiver.retention`) reads and marks: the media of the
incidents on hold, the clips and snapshots that are due, and each one's deletion and the
removal of its file. *table* and *col* are ``("clips", "clip_id")`` or
``("snapshots", "id")`` (constants of the caller)."""

from __future__ import annotations

from edge.receiver.store.database import Cursor, Database

Due = tuple[str, str, str, str | None, str | None, float]
"""(site, node, id, sha256, path, stored) of an item retention may delete."""
Unlinked = tuple[str, str, str, str | None, str | None]
"""(site, node, id, sha256, path) of a deleted item whose file may remain."""

TABLES = {"clip": ("clips", "clip_id"), "snapshot": ("snapshots", "id")}
"""Item type: (table, id column)."""


def held_media(cur: Cursor) -> list[tuple[str, str, str | None, str | None]]:
    """(site, node, clip id, snapshot id) of every incident on hold: those of its
    occurrences, of the events of its occurrences, and of events naming it as their
    incident (each lookup by an index: held incidents are few, events many)."""
    held = cur.execute("SELECT site, incident FROM incidents WHERE held IS NOT NULL").fetchall()
    found: list[tuple[str, str, str | None, str | None]] = []
    for site, incident in held:
        occurrences = cur.execute(
            "SELECT node, occurrence, clip_id, snapshot_id FROM occurrences"
            " WHERE site = ? AND incident = ?",
            (site, incident),
        ).fetchall()
        for node, occurrence, clip, snapshot in occurrences:
            found.append((str(site), node, clip, snapshot))
            found += [(str(site), node, c, p) for c, p in cur.execute(
                "SELECT clip_id, snapshot_id FROM events WHERE site = ? AND node = ?"
                " AND occurrence = ?", (site, node, occurrence)).fetchall()]  # fmt: skip
        found += [(str(site), n, c, p) for n, c, p in cur.execute(
            "SELECT node, clip_id, snapshot_id FROM events WHERE incident = ? AND site = ?",
            (incident, site)).fetchall()]  # fmt: skip
    return found


def due_rows(cur: Cursor, cutoff: float, limit: int) -> tuple[list[Due], list[Due]]:
    """(clips, snapshots) stored before *cutoff* and not deleted, oldest first, at most
    *limit* of each: rows of (site, node, id, sha256, path, stored)."""
    clips = cur.execute(
        "SELECT site, node, clip_id, sha256, path, updated FROM clips WHERE state = 'complete'"
        " AND deleted IS NULL AND updated < ? ORDER BY updated LIMIT ?",
        (cutoff, limit),
    ).fetchall()
    snaps = cur.execute(
        "SELECT site, node, id, sha256, path, received FROM snapshots WHERE deleted IS NULL"
        " AND received < ? ORDER BY received LIMIT ?",
        (cutoff, limit),
    ).fetchall()
    return list(clips), list(snaps)


def mark_deleted(
    cur: Cursor, kind: str, key: tuple[str, str, str], *, when: float, seq: int
) -> None:
    """The item *key* (site, node, id) of type *kind* is deleted at *when* by chain record
    *seq* (its file not removed yet)."""
    table, col = TABLES[kind]
    cur.execute(
        f"UPDATE {table} SET deleted = ?, deleted_seq = ?, unlinked = 0"  # noqa: S608
        f" WHERE site = ? AND node = ? AND {col} = ? AND deleted IS NULL",
        (when, seq, *key),
    )


def not_unlinked(db: Database, kind: str) -> list[Unlinked]:
    """(site, node, id, sha256, path) of each item of type *kind* recorded deleted whose
    file is not removed yet, in the order of deletion."""
    table, col = TABLES[kind]
    return list(db.query(
        f"SELECT site, node, {col}, sha256, path FROM {table}"  # noqa: S608
        " WHERE unlinked = 0 ORDER BY deleted"
    ))  # fmt: skip


def live_copies(cur: Cursor, kind: str, sha256: str | None, path: str | None) -> int:
    """How many items of type *kind* not deleted name the file *path* with *sha256*."""
    table, _ = TABLES[kind]
    live = cur.execute(
        f"SELECT COUNT(*) FROM {table} WHERE sha256 = ?"  # noqa: S608
        " AND path = ? AND deleted IS NULL",
        (sha256, path),
    ).fetchone()
    return int(live[0]) if live and live[0] else 0


def mark_unlinked(cur: Cursor, kind: str, key: tuple[str, str, str]) -> None:
    """The file of item *key* (site, node, id) of type *kind* is removed."""
    table, col = TABLES[kind]
    cur.execute(
        f"UPDATE {table} SET unlinked = 1 WHERE site = ? AND node = ?"  # noqa: S608
        f" AND {col} = ?",
        key,
    )
