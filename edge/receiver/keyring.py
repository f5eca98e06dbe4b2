"""Every key a node was ever enrolled with, and when each was valid.

A node's key can be replaced (a new board, a key that may have leaked): the old key stays in
the history with the time its validity ended. What it signed before then stays evidence; a
message it signed that the receiver gets after then is refused (``expired_key``). One key
belongs to one node and has one validity period: a key id names one enrolment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.keys import key_id, load_public


@dataclass(frozen=True, slots=True)
class Identity:
    """One enrolment of a node's key: the node, the key, and when, by whom and why it was
    enrolled; ``valid_until`` is set when the key was replaced (None: the current key)."""

    node: str
    site: str
    public_pem: str
    valid_from: float = 0.0
    valid_until: float | None = None
    enrolled_by: str = ""
    reason: str = ""
    replaced_by: str | None = None
    """The key id that replaced this one."""

    @property
    def public(self) -> Ed25519PublicKey:
        """The key."""
        return load_public(self.public_pem)

    @property
    def key_id(self) -> str:
        """The key's id (what ``kid`` carries)."""
        return key_id(self.public)

    def valid_at(self, when: float) -> bool:
        """Was this key the node's at *when* (its validity had not ended)?"""
        return self.valid_until is None or when < self.valid_until

    def record(self) -> dict[str, Any]:
        """The enrolment as JSON-ready facts (the evidence bundle carries it)."""
        return {
            "site": self.site,
            "node": self.node,
            "key_id": self.key_id,
            "valid_from": self.valid_from,
            "valid_from_utc": utc(self.valid_from),
            "valid_until": self.valid_until,
            "valid_until_utc": None if self.valid_until is None else utc(self.valid_until),
            "enrolled_by": self.enrolled_by,
            "reason": self.reason,
            "replaced_by": self.replaced_by,
            "public_key_pem": self.public_pem,
        }

    def describe(self) -> str:
        """One line: the key, its validity and why it was enrolled."""
        until = "now (current key)" if self.valid_until is None else utc(self.valid_until)
        who = f" by {self.enrolled_by}" if self.enrolled_by else ""
        why = f": {self.reason}" if self.reason else ""
        return (
            f"key {self.key_id} of {self.site}/{self.node}, valid {utc(self.valid_from)}"
            f" to {until}, enrolled{who}{why}"
        )


def utc(when: float) -> str:
    """A UNIX time as ISO 8601 UTC to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


class Registry:
    """Enrolled node keys, current and replaced, by key id and by node (thread-safe;
    reloaded from the store)."""

    def __init__(self, identities: Iterable[Identity] = ()) -> None:
        self._lock = threading.Lock()
        self._by_kid: dict[str, tuple[Identity, Ed25519PublicKey]] = {}
        self._nodes: dict[tuple[str, str], list[Identity]] = {}
        self.replace(identities)

    def replace(self, identities: Iterable[Identity]) -> None:
        """Take this set of enrolments (every key of every node) instead of the current one
        (keys already loaded are reused: the supervision loop reloads every few seconds)."""
        with self._lock:
            known = {i.public_pem: (kid, k) for kid, (i, k) in self._by_kid.items()}
        by_kid: dict[str, tuple[Identity, Ed25519PublicKey]] = {}
        nodes: dict[tuple[str, str], list[Identity]] = {}
        for i in identities:
            hit = known.get(i.public_pem)
            if hit is not None:
                kid, public = hit
            else:
                public = i.public
                kid = key_id(public)
            by_kid[kid] = (i, public)
            nodes.setdefault((i.site, i.node), []).append(i)
        for keys in nodes.values():
            keys.sort(key=lambda i: i.valid_from)
        with self._lock:
            self._by_kid = by_kid
            self._nodes = nodes

    def by_kid(self, kid: str) -> tuple[Identity, Ed25519PublicKey] | None:
        """The enrolment of key *kid* (current or replaced) and the key."""
        with self._lock:
            return self._by_kid.get(kid)

    def enrolled(self, site: str, node: str) -> bool:
        """Is *node* of *site* enrolled?"""
        with self._lock:
            return (site, node) in self._nodes

    def keys(self, site: str, node: str) -> list[Identity]:
        """Every key of *node*, oldest first (the last one is current unless replaced)."""
        with self._lock:
            return list(self._nodes.get((site, node), ()))

    def current(self, site: str, node: str) -> Identity | None:
        """The node's key whose validity has not ended, if any."""
        return next((i for i in self.keys(site, node) if i.valid_until is None), None)
