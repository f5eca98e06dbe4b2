"""The key history in the store: every key each node was enrolled with (``node_keys``: valid
from, valid until, by whom and why) and every replacement (``key_replacements``: who, when,
old key, new key, why). ``nodes.public_key`` stays the node's current key."""

from __future__ import annotations

import getpass
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.core.logs import get_logger
from edge.evidence.keys import key_id, load_public, public_pem
from edge.receiver.keyring import Identity, utc
from edge.receiver.store.database import Cursor, Database, StoreError

log = get_logger(__name__)

_COLUMNS = "node, site, public_key, valid_from, valid_until, enrolled_by, reason, replaced_by"


class KeyRefused(StoreError):
    """An enrolment the key history does not allow (the message says why and what to do)."""


class Action(StrEnum):
    """What an enrolment did."""

    ENROLLED = "enrolled"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """The outcome of :func:`enrol`."""

    action: Action
    key: Identity
    """The node's key now."""
    old: Identity | None = None
    """The key it replaced (its validity now ended)."""


def os_user() -> str:
    """Who runs this command (the OS user), for the record of an enrolment."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _identity(row: tuple[str, str, str, float, float | None, str, str, str | None]) -> Identity:
    node, site, pem, start, until, by, reason, replaced_by = row
    return Identity(
        str(node), str(site), str(pem), float(start), None if until is None else float(until),
        str(by), str(reason), None if replaced_by is None else str(replaced_by),
    )  # fmt: skip


def enrol(
    db: Database,
    site: str,
    node: str,
    pem: str,
    *,
    by: str = "",
    reason: str = "",
    replace: bool = False,
) -> Enrolment:
    """Enrol *pem* as the key of *node* of *site*. The node's current key again: nothing
    changes. Another key while the node has one: refused unless *replace* (with a *reason*),
    which ends the old key's validity now (what it signed before stays valid) and records
    the replacement. A key of another node, or a key this node had before, is refused."""
    public = load_public(pem)
    kid = key_id(public)
    new = Identity(node, site, public_pem(public), time.time(), None, by or os_user(),
                   reason.strip() or "enrolled")  # fmt: skip
    try:
        with db.transaction() as cur:
            current = _apply(cur, new, kid, replace=replace, reason=reason.strip())
    except db.errors as e:  # e.g. two enrolments of one node at once: the second one loses
        raise StoreError(f"enrolling {site}/{node}: {e}".strip()) from e
    if isinstance(current, Enrolment):
        return current
    if current is None:
        log.info("receiver.key_enrolled", site=site, node=node, key=kid, by=new.enrolled_by)
        return Enrolment(Action.ENROLLED, new)
    log.warning("receiver.key_replaced", site=site, node=node, old_key=current.key_id,
                new_key=kid, by=new.enrolled_by, reason=new.reason)  # fmt: skip
    old = Identity(current.node, current.site, current.public_pem, current.valid_from,
                   new.valid_from, current.enrolled_by, current.reason, kid)  # fmt: skip
    return Enrolment(Action.REPLACED, new, old)


def _apply(
    cur: Cursor, new: Identity, kid: str, *, replace: bool, reason: str
) -> Identity | Enrolment | None:
    """The enrolment of *new* inside a transaction: the key it replaced (None: a first
    enrolment), or an :class:`Enrolment` when nothing changed."""
    site, node, now = new.site, new.node, new.valid_from
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM node_keys WHERE key_id = ?",  # noqa: S608
        (kid,),
    ).fetchone()
    if row is not None:
        had = _identity(row)
        if (had.site, had.node) != (site, node):
            raise KeyRefused(f"key {kid} is already enrolled for {had.site}/{had.node}: "
                             "one key, one node")  # fmt: skip
        if had.valid_until is None:
            return Enrolment(Action.UNCHANGED, had)
        raise KeyRefused(
            f"key {kid} was {site}/{node}'s until {utc(had.valid_until)} (replaced): a "
            "replaced key is never enrolled again; make a new one (edge keys init)"
        )
    current = _current(cur, site, node)
    if current is not None and not replace:
        raise KeyRefused(
            f"{site}/{node} already has key {current.key_id} (since"
            f" {utc(current.valid_from)}); to replace it with {kid}: --replace --reason WHY"
        )
    if current is not None and not reason:
        raise KeyRefused(f"replacing the key of {site}/{node} needs a reason (--reason)")
    if current is not None:
        cur.execute(
            "UPDATE node_keys SET valid_until = ?, replaced_by = ? WHERE key_id = ?",
            (now, kid, current.key_id),
        )
    _insert(cur, new, kid)
    if current is not None:
        cur.execute(
            "INSERT INTO key_replacements (site, node, time, old_key_id, new_key_id,"
            " username, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (site, node, now, current.key_id, kid, new.enrolled_by, new.reason),
        )
    return current


def _current(cur: Cursor, site: str, node: str) -> Identity | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM node_keys WHERE site = ? AND node = ?"  # noqa: S608
        " AND valid_until IS NULL",
        (site, node),
    ).fetchone()
    return None if row is None else _identity(row)


def _insert(cur: Cursor, new: Identity, kid: str) -> None:
    cur.execute(
        "INSERT INTO node_keys (key_id, site, node, public_key, valid_from, valid_until,"
        " enrolled_by, reason) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        (kid, new.site, new.node, new.public_pem, new.valid_from, new.enrolled_by, new.reason),
    )
    cur.execute(
        "INSERT INTO nodes (site, node, public_key, key_id, enrolled) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (site, node) DO UPDATE SET public_key = excluded.public_key,"
        " key_id = excluded.key_id",
        (new.site, new.node, new.public_pem, kid, new.valid_from),
    )


def history(db: Database, site: str | None = None, node: str | None = None) -> list[Identity]:
    """Every key enrolled (of one node when *site* and *node* are given), oldest first."""
    if site is None or node is None:
        rows = db.query(f"SELECT {_COLUMNS} FROM node_keys ORDER BY site, node, valid_from")  # noqa: S608
    else:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM node_keys WHERE site = ? AND node = ?"  # noqa: S608
            " ORDER BY valid_from",
            (site, node),
        )
    return [_identity(r) for r in rows]


def signer(db: Database, site: str, node: str, kid: str) -> Identity | None:
    """The enrolment of key *kid* of *node* (current or replaced): the key that signed."""
    rows = db.query(
        f"SELECT {_COLUMNS} FROM node_keys WHERE key_id = ? AND site = ? AND node = ?",  # noqa: S608
        (kid, site, node),
    )
    return _identity(rows[0]) if rows else None


def replacements(db: Database, site: str, node: str) -> list[dict[str, Any]]:
    """The audit of a node's key replacements, oldest first."""
    cols = ("seq", "time", "old_key_id", "new_key_id", "username", "reason")
    rows = db.query(
        f"SELECT {', '.join(cols)} FROM key_replacements WHERE site = ? AND node = ?"  # noqa: S608
        " ORDER BY seq",
        (site, node),
    )
    return [dict(zip(cols, r, strict=True)) for r in rows]
