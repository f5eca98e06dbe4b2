"""Server-side sessions: the cookie holds a random token, the table its sha256 (a stolen
database opens no session), the user, the session's CSRF token and when it ends.

A session ends at ``expires``, the one deadline every check reads:

* a login sets it ``lifetime_s`` ahead (``[http] session_lifetime_s``, 12 h);
* a renewal (``POST /api/session/renew``: the console page sends it while it is open and its
  stream live, and the "stay logged in" button) moves it to at least ``idle_s`` past the
  renewal (``[http] idle_limit_s``): a page that stops renewing (tab closed, laptop asleep,
  stream down) lets the session lapse at most ``idle_s`` after its last renewal or at the end
  of the login's window, whichever is later; it never moves it back;
* nothing moves it past ``created + max_s`` (``[http] session_max_s``, 7 days): then a new
  login;
* logging out deletes the row, and a renewal only updates a row that is still live, in one
  statement, so it never revives a logged-out or lapsed session.

Only the explicit renewal counts as activity: reads (pages, the stream, ``GET /api/session``)
never extend a session, so an idle browser that merely reconnects its stream does not keep
one alive; ``last_active`` records the last renewal (or the login)."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.core.logs import get_logger
from edge.receiver.store import accounts
from edge.receiver.store.database import Database
from edge.receiver.web.users import Role

log = get_logger(__name__)

COOKIE = "edge_session"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user."""

    user: str
    role: Role
    csrf: str
    expires: float
    """When it ends unless renewed (UNIX s)."""
    created: float = 0.0
    """The login (UNIX s)."""
    last_active: float = 0.0
    """The last renewal, or the login (UNIX s)."""

    def may(self, needed: Role) -> bool:
        """Does the user's role include *needed*?"""
        return self.role.may(needed)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The sessions table. *clock* gives UNIX seconds (tests pass their own)."""

    def __init__(
        self,
        db: Database,
        lifetime_s: float,
        idle_s: float | None = None,
        max_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.lifetime_s = lifetime_s
        self.idle_s = lifetime_s if idle_s is None else idle_s
        self.max_s = max(lifetime_s, self.idle_s) if max_s is None else max_s
        self.clock = clock

    def create(self, user: str) -> str:
        """A new session for *user*; returns the cookie's token. Ended rows go."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        ends = now + min(self.lifetime_s, self.max_s)
        accounts.add_session(self.db, _digest(token), user, csrf=secrets.token_urlsafe(32),
                             now=now, ends=ends, oldest=now - self.max_s)  # fmt: skip
        return token

    def get(self, token: str | None) -> Session | None:
        """The live session of *token* (None: none, ended, or its user is gone)."""
        if not token or len(token) > 128:
            return None
        now = self.clock()
        row = accounts.live_session(self.db, _digest(token), now, now - self.max_s)
        if row is None:
            return None
        user, role, csrf, expires, created, active = row
        ends = min(expires, created + self.max_s)
        return Session(user, Role(role), csrf, ends, created, active)

    def renew(self, token: str | None) -> Session | None:
        """Renew the live session of *token*: its end moves to at least ``idle_s`` from now
        (never past the cap, never back). None when there is no live session to renew."""
        current = self.get(token)
        if current is None or token is None:
            return None
        now = self.clock()
        cap = current.created + self.max_s
        ends = max(current.expires, min(now + self.idle_s, cap))
        renewed = accounts.renew_session(self.db, _digest(token), now, ends, now - self.max_s)
        if not renewed:  # logged out or lapsed between the read and the update
            return None
        log.debug("web.session_renewed", user=current.user, ends=round(ends, 1))
        return Session(current.user, current.role, current.csrf, ends, current.created, now)

    def cap(self, s: Session) -> float:
        """When *s* ends however often it is renewed."""
        return s.created + self.max_s

    def delete(self, token: str | None) -> None:
        """Log out."""
        if token:
            accounts.delete_session(self.db, _digest(token))
