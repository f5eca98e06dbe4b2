"""Dashboard users, their passwords (scrypt, a salt each) and logins: tries are throttled by
source address first, an account locks only after wrong passwords from several addresses
(:mod:`edge.receiver.web.throttle`), and every attempt is logged and stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.core.errors import EdgeError
from edge.core.logs import get_logger
from edge.receiver.store import accounts
from edge.receiver.store.database import Database
from edge.receiver.store.throttle import Throttle

log = get_logger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
"""16 MiB and about 50 ms per hash: memory-hard, cheap enough for a login."""
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 8


class Role(StrEnum):
    """What a user may do: look, acknowledge too, or administer too (ordered); or, apart
    from those, audit: see the access log and the reports, never the console, clips,
    snapshots, event details or evidence."""

    VIEWER = "viewer"
    OFFICER = "officer"
    ADMIN = "admin"
    AUDITOR = "auditor"

    def may(self, needed: Role) -> bool:
        """Does this role include *needed*? The auditor's role includes only itself; an
        admin's includes the auditor's (the access log) as well as everything else."""
        if Role.AUDITOR in (self, needed):
            return self is needed or (self is Role.ADMIN and needed is Role.AUDITOR)
        return _ORDER.index(self) >= _ORDER.index(needed)


_ORDER = (Role.VIEWER, Role.OFFICER, Role.ADMIN)
"""The ordered roles, each including those before it."""


class UserError(EdgeError):
    """A user cannot be added (bad name, weak password, already there)."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$SALT$HASH`` (hex) for *password* with a fresh 16-byte salt."""
    salt = os.urandom(16) if salt is None else salt
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Does *password* match *stored* (from :func:`hash_password`)? Constant time."""
    try:
        alg, n, r, p, salt, digest = stored.split("$")
        if alg != "scrypt":
            return False
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


_DUMMY = hash_password("not a password of anyone", b"\0" * 16)
"""Checked against for an unknown name, so that it takes as long as a known one."""


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a login attempt."""

    user: str | None
    """Who is logged in (None: refused)."""
    role: Role | None = None
    reason: str = ""
    """Why it was refused: ``wrong password``, ``unknown user``, ``locked`` (not checked)."""
    locked_until: float | None = None
    """Until when the address or the account is locked (None: neither)."""
    lock: str = ""
    """What is locked: ``address``, ``account`` or nothing."""


class Users:
    """The users table, logins and lockout."""

    def __init__(self, db: Database, *, max_failures: int = 5, lockout_s: float = 900) -> None:
        self.db = db
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.throttle = Throttle(db, max_failures, lockout_s)

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> None:
        """Add a user (or, with *replace*, set an existing one's role and password and
        unlock it)."""
        if not NAME.match(name):
            raise UserError(f"user name {name!r}: lower-case letters, digits, . _ - (max 32)")
        if role not in {str(r) for r in Role}:
            raise UserError(f"role {role!r}: one of {', '.join(map(str, Role))}")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password: at least {MIN_PASSWORD} characters")
        hashed = hash_password(password)
        with self.db.transaction() as cur:
            exists = accounts.user_exists(cur, name)
            if exists and not replace:
                raise UserError(f"user {name!r} exists (--replace to change it)")
            if exists:
                self.throttle.unlock(cur, name)
            accounts.put_user(cur, name, role, hashed, time.time())
        log.info("web.user_added", user=name, role=role, replaced=bool(exists))

    def all(self) -> list[dict[str, Any]]:
        """Every user (no password hashes)."""
        return accounts.users(self.db)

    def role_of(self, name: str) -> Role | None:
        """The role of *name* (None: no such user)."""
        role = accounts.role_of(self.db, name)
        return None if role is None else Role(role)

    def login(self, name: str, password: str, address: str | None = None) -> Login:
        """Check a password, throttled by address first (:mod:`~edge.receiver.web.throttle`):
        a try takes its address's slot before the check, so parallel tries check at most
        ``max_failures`` passwords. Logged and stored either way."""
        now, where = time.time(), address or "unknown"
        with self.db.transaction() as cur:
            gate = self.throttle.enter(cur, name, where, now)
            row = None
            if gate.allowed:
                row = accounts.credentials(cur, name)
        if not gate.allowed:
            refused = Login(None, reason="locked", locked_until=gate.until, lock=gate.scope)
            return self._record(name, address, refused)
        if row is None:
            check_password(password, _DUMMY)
            with self.db.transaction() as cur:
                gate = self.throttle.address_gate(cur, where)
            unknown = Login(None, reason="unknown user", locked_until=gate.until, lock=gate.scope)
            return self._record(name, address, unknown)
        role, stored = row
        if check_password(password, stored):
            with self.db.transaction() as cur:
                self.throttle.succeeded(cur, name, where)
            return self._record(name, address, Login(name, Role(role)))
        with self.db.transaction() as cur:
            gate = self.throttle.failed(cur, name, where, now)
        wrong = Login(None, reason="wrong password", locked_until=gate.until, lock=gate.scope)
        return self._record(name, address, wrong)

    def unlock(self, name: str) -> int | None:
        """Clear *name*'s lock and the windows of the addresses its wrong passwords came
        from; how many addresses (None: no such user)."""
        with self.db.transaction() as cur:
            if not accounts.user_exists(cur, name):
                return None
            cleared = self.throttle.unlock(cur, name)
        log.info("web.user_unlocked", user=name, addresses=cleared)
        return cleared

    def locked_addresses(self) -> list[dict[str, object]]:
        """Addresses out of tries now (for ``/admin``)."""
        return self.throttle.locked_addresses(time.time())

    def _record(self, name: str, address: str | None, result: Login) -> Login:
        ok = result.user is not None
        detail = "ok" if ok else result.reason
        if result.lock:
            lock = f"{result.lock} locked"
            detail = lock if detail == "locked" else f"{detail}; {lock}"
        accounts.record_login(self.db, time.time(), name[:64], ok=ok, address=address,
                              detail=detail)  # fmt: skip
        if ok:
            log.info("web.login", user=name, address=address)
        else:
            log.warning("web.login_failed", user=name[:64], address=address, reason=detail)
        return result

    def logins(self, limit: int = 100) -> list[dict[str, object]]:
        """Login attempts, newest first."""
        return accounts.logins(self.db, limit)
