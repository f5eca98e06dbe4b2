"""Login throttling, by source address first, kept in the ``login_addresses`` and
``login_failures`` tables and the account lock in ``users``.

* **Address:** each address has ``max_failures`` tries per window of ``lockout_s`` seconds
  (whatever names it tries, unknown ones too). A try takes its slot *before* the password
  is checked, in one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, so parallel tries
  can never check more than ``max_failures`` passwords; a right password gives its slot
  back, a wrong one keeps it. Past the limit the address is refused, without a check,
  until its window ends.
* **Account:** an account locks for everyone (for ``lockout_s``) only after
  ``max_failures`` wrong passwords from at least :data:`ACCOUNT_ADDRESSES` different
  addresses within ``lockout_s``: one address, however hostile, cannot lock out the
  admin logging in from another. A right password clears the account's failures.

``edge receive user unlock NAME`` clears the account's lock and failures and the address
windows its wrong passwords came from."""

from __future__ import annotations

from dataclasses import dataclass

from edge.receiver.store.database import Cursor, Database

ACCOUNT_ADDRESSES = 3
"""Different addresses whose wrong passwords it takes to lock an account for everyone."""
PRUNE_EVERY = 256
"""Tries between two clean-ups of address windows that have ended."""


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether a try may check its password, and if not, why and until when."""

    allowed: bool
    scope: str = ""
    """``address`` or ``account``: what is locked."""
    until: float | None = None


class Throttle:
    """The ``login_addresses`` and ``login_failures`` tables and the account lock in
    ``users``."""

    def __init__(self, db: Database, max_failures: int, window_s: float) -> None:
        self.db = db
        self.max_failures = max_failures
        self.window_s = window_s
        self._tries = 0

    def enter(self, cur: Cursor, name: str, address: str, now: float) -> Gate:
        """Take a slot of *address*; refuse when the address or the account is locked."""
        self._tries += 1
        if self._tries % PRUNE_EVERY == 0:
            cur.execute("DELETE FROM login_addresses WHERE window_start <= ?",
                        (now - self.window_s,))  # fmt: skip
        ended = now - self.window_s
        row = cur.execute(
            "INSERT INTO login_addresses (address, failures, window_start) VALUES (?, 1, ?)"
            " ON CONFLICT (address) DO UPDATE SET"
            " failures = CASE WHEN login_addresses.window_start <= ? THEN 1"
            " ELSE login_addresses.failures + 1 END,"
            " window_start = CASE WHEN login_addresses.window_start <= ? THEN ?"
            " ELSE login_addresses.window_start END"
            " RETURNING failures, window_start",
            (address, now, ended, ended, now),
        ).fetchone()
        assert row is not None
        if int(row[0]) > self.max_failures:
            return Gate(False, "address", float(row[1]) + self.window_s)
        locked = cur.execute("SELECT locked_until FROM users WHERE name = ?", (name,)).fetchone()
        if locked and locked[0] is not None and float(locked[0]) > now:
            self.release(cur, address)  # nothing is checked: the address keeps its slot
            return Gate(False, "account", float(locked[0]))
        return Gate(True)

    def release(self, cur: Cursor, address: str) -> None:
        """Give back the slot of a try that checked no wrong password."""
        cur.execute("UPDATE login_addresses SET failures = failures - 1"
                    " WHERE address = ? AND failures > 0", (address,))  # fmt: skip

    def succeeded(self, cur: Cursor, name: str, address: str) -> None:
        """A right password: the slot back, the account's failures cleared."""
        self.release(cur, address)
        cur.execute("DELETE FROM login_failures WHERE username = ?", (name,))
        cur.execute("UPDATE users SET failures = 0, locked_until = NULL WHERE name = ?", (name,))

    def failed(self, cur: Cursor, name: str, address: str, now: float) -> Gate:
        """A wrong password for the existing account *name* from *address*: counted; what
        is locked now (``allowed`` False) and until when."""
        cur.execute(
            "INSERT INTO login_failures (username, address, failures, last) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (username, address) DO UPDATE SET"
            " failures = CASE WHEN login_failures.last <= ? THEN 1"
            " ELSE login_failures.failures + 1 END, last = excluded.last",
            (name, address, now, now - self.window_s),
        )
        row = cur.execute(
            "SELECT COUNT(*), SUM(failures) FROM login_failures WHERE username = ? AND last > ?",
            (name, now - self.window_s),
        ).fetchone()
        addresses, failures = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
        until = None
        if addresses >= ACCOUNT_ADDRESSES and failures >= self.max_failures:
            until = now + self.window_s
        cur.execute("UPDATE users SET failures = ?, locked_until = COALESCE(?, locked_until)"
                    " WHERE name = ?", (failures, until, name))  # fmt: skip
        if until is not None:
            return Gate(False, "account", until)
        return self.address_gate(cur, address)

    def address_gate(self, cur: Cursor, address: str) -> Gate:
        """Is *address* out of tries now?"""
        row = cur.execute(
            "SELECT failures, window_start FROM login_addresses WHERE address = ?", (address,)
        ).fetchone()
        if row is not None and int(row[0]) >= self.max_failures:
            return Gate(False, "address", float(row[1]) + self.window_s)
        return Gate(True)

    def unlock(self, cur: Cursor, name: str) -> int:
        """Clear *name*'s lock and failures and the windows of the addresses its wrong
        passwords came from; how many addresses were cleared."""
        rows = cur.execute(
            "SELECT address FROM login_failures WHERE username = ?", (name,)
        ).fetchall()
        for (address,) in rows:
            cur.execute("DELETE FROM login_addresses WHERE address = ?", (address,))
        cur.execute("DELETE FROM login_failures WHERE username = ?", (name,))
        cur.execute("UPDATE users SET failures = 0, locked_until = NULL WHERE name = ?", (name,))
        return len(rows)

    def locked_addresses(self, now: float) -> list[dict[str, object]]:
        """Addresses out of tries now, with until when."""
        rows = self.db.query(
            "SELECT address, failures, window_start FROM login_addresses"
            " WHERE failures >= ? AND window_start > ? ORDER BY window_start DESC LIMIT 200",
            (self.max_failures, now - self.window_s),
        )
        return [{"address": a, "failures": min(int(f), self.max_failures),
                 "locked_until": float(w) + self.window_s} for a, f, w in rows]  # fmt: skip
