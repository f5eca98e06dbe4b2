"""Server-side sessions: the cookie holds a random token, the table its sha256 (a stolen
database opens no session), the user, the session's CSRF token and when it expires.
Logging out deletes the row."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from edge.receiver.store.database import Database
from edge.receiver.web.users import Role

COOKIE = "edge_session"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user."""

    user: str
    role: Role
    csrf: str
    expires: float

    def may(self, needed: Role) -> bool:
        """Does the user's role include *needed*?"""
        return self.role.may(needed)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The sessions table."""

    def __init__(self, db: Database, lifetime_s: float) -> None:
        self.db = db
        self.lifetime_s = lifetime_s

    def create(self, user: str) -> str:
        """A new session for *user*; returns the cookie's token. Expired rows go."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            cur.execute(
                "INSERT INTO sessions (token, username, csrf, created, expires)"
                " VALUES (?, ?, ?, ?, ?)",
                (_digest(token), user, secrets.token_urlsafe(32), now, now + self.lifetime_s),
            )
        return token

    def get(self, token: str | None) -> Session | None:
        """The live session of *token* (None: none, expired, or its user is gone)."""
        if not token or len(token) > 128:
            return None
        rows = self.db.query(
            "SELECT s.username, u.role, s.csrf, s.expires FROM sessions s"
            " JOIN users u ON u.name = s.username WHERE s.token = ? AND s.expires > ?",
            (_digest(token), time.time()),
        )
        if not rows:
            return None
        user, role, csrf, expires = rows[0]
        return Session(str(user), Role(role), str(csrf), float(expires))

    def delete(self, token: str | None) -> None:
        """Log out."""
        if token:
            with self.db.transaction() as cur:
                cur.execute("DELETE FROM sessions WHERE token = ?", (_digest(token),))
