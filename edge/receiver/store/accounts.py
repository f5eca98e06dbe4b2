"""The dashboard's accounts in the store: the ``users`` table (name, role, password hash,
language), the ``logins`` record of every attempt, and the ``sessions`` table (a session is
found by the digest of its cookie's token, never by the token). What a password or a
session means is the dashboard's (:mod:`edge.receiver.web.users`,
:mod:`edge.receiver.web.sessions`); this module only reads and writes the rows."""

from __future__ import annotations

from edge.receiver.store.database import Cursor, Database

USER_COLUMNS = ("name", "role", "created", "failures", "locked_until")
"""What :func:`users` gives of each user (never the password hash)."""
LOGIN_COLUMNS = ("seq", "time", "username", "ok", "address", "detail")
"""What :func:`logins` gives of each attempt."""


def user_exists(cur: Cursor, name: str) -> bool:
    """Is there a user *name* (inside the caller's transaction)?"""
    return cur.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None


def put_user(cur: Cursor, name: str, role: str, password_hash: str, created: float) -> None:
    """Add user *name*, or set an existing one's role and password and clear its lock."""
    cur.execute(
        "INSERT INTO users (name, role, password, created) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET role = excluded.role,"
        " password = excluded.password, failures = 0, locked_until = NULL",
        (name, role, password_hash, created),
    )


def users(db: Database) -> list[dict[str, object]]:
    """Every user by name (:data:`USER_COLUMNS`)."""
    rows = db.query(f"SELECT {', '.join(USER_COLUMNS)} FROM users ORDER BY name")  # noqa: S608
    return [dict(zip(USER_COLUMNS, r, strict=True)) for r in rows]


def user_names(db: Database) -> list[str]:
    """Every user's name, in order."""
    return [str(r[0]) for r in db.query("SELECT name FROM users ORDER BY name")]


def role_of(db: Database, name: str) -> str | None:
    """The stored role of *name* (None: no such user)."""
    rows = db.query("SELECT role FROM users WHERE name = ?", (name,))
    return str(rows[0][0]) if rows else None


def credentials(cur: Cursor, name: str) -> tuple[str, str] | None:
    """(role, password hash) of *name* (None: no such user)."""
    row = cur.execute("SELECT role, password FROM users WHERE name = ?", (name,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def record_login(
    db: Database, when: float, name: str, *, ok: bool, address: str | None, detail: str
) -> None:
    """Store one login attempt."""
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO logins (time, username, ok, address, detail) VALUES (?, ?, ?, ?, ?)",
            (when, name, int(ok), address, detail),
        )


def logins(db: Database, limit: int = 100) -> list[dict[str, object]]:
    """Login attempts, newest first (:data:`LOGIN_COLUMNS`)."""
    rows = db.query(
        f"SELECT {', '.join(LOGIN_COLUMNS)} FROM logins ORDER BY seq DESC LIMIT ?",  # noqa: S608
        (limit,),
    )
    return [dict(zip(LOGIN_COLUMNS, r, strict=True)) for r in rows]


def language(db: Database, name: str) -> object:
    """User *name*'s stored language as stored (None: none set, or no such user)."""
    rows = db.query("SELECT lang FROM users WHERE name = ?", (name,))
    return rows[0][0] if rows else None


def set_language(db: Database, name: str, lang: str | None) -> bool:
    """Store (None: clear) user *name*'s language; False if there is no such user."""
    with db.transaction() as cur:
        cur.execute("UPDATE users SET lang = ? WHERE name = ?", (lang, name))
        return user_exists(cur, name)


def add_session(
    db: Database, digest: str, user: str, *, csrf: str, now: float, ends: float, oldest: float
) -> None:
    """Store a new session (token *digest*) of *user* ending at *ends*; first drop the ended
    ones (expired, or created before *oldest*)."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM sessions WHERE expires < ? OR created < ?", (now, oldest))
        cur.execute(
            "INSERT INTO sessions (token, username, csrf, created, expires, last_active)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (digest, user, csrf, now, ends, now),
        )


def live_session(
    db: Database, digest: str, now: float, oldest: float
) -> tuple[str, str, str, float, float, float] | None:
    """(user, role, csrf, expires, created, last active) of the session *digest* if it is
    live at *now* (created after *oldest*) and its user still exists; else None."""
    rows = db.query(
        "SELECT s.username, u.role, s.csrf, s.expires, s.created,"
        " COALESCE(s.last_active, s.created) FROM sessions s"
        " JOIN users u ON u.name = s.username"
        " WHERE s.token = ? AND s.expires > ? AND s.created > ?",
        (digest, now, oldest),
    )
    if not rows:
        return None
    user, role, csrf, expires, created, active = rows[0]
    return str(user), str(role), str(csrf), float(expires), float(created), float(active)


def renew_session(db: Database, digest: str, now: float, ends: float, oldest: float) -> bool:
    """Mark the live session *digest* active at *now* and move its end to *ends* (never
    back); False when it is no longer live (logged out or lapsed)."""
    with db.transaction() as cur:
        cur.execute(
            "UPDATE sessions SET last_active = ?,"
            " expires = CASE WHEN expires > ? THEN expires ELSE ? END"
            " WHERE token = ? AND expires > ? AND created > ?",
            (now, ends, ends, digest, now, oldest),
        )
        return bool(cur.rowcount == 1)


def delete_session(db: Database, digest: str) -> None:
    """End the session *digest*."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM sessions WHERE token = ?", (digest,))
