"""The node's signing key as the running node holds it: present, or not (yet).

A node must sound its siren whatever state its key is in, so a key that is missing,
unreadable, unsafe (readable by others) or not an Ed25519 key does not stop the start: the
slot stays empty, says why (naming the file) and looks again on every :meth:`KeySlot.poll`.
Nothing is signed meanwhile; a message is never sent unsigned or signed by anything else
(the receiver would quarantine it, and evidence must not be faked): what the node raises
waits for the key (``edge.node.keywait``).

A key that loads but is not the one that signed the audit chain last (a *swapped* key) is
used: it is the key the node has, and everything it signs is genuine. The audit log records
the change before the new key signs anything (``key_change``, :mod:`edge.evidence.audit`)
and reports it until the next start; the receiver quarantines its messages (``unknown_key``)
until the new key is enrolled with ``--replace``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.keys import NodeKey, SigningKeyError


class KeySlot:
    """The node's :class:`NodeKey` at *path*, or the reason there is none (a ``Signer``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.key: NodeKey | None = None
        self.problem: str | None = None
        """Why there is no key (the loader's message, naming the file), None with a key."""
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> NodeKey | None:
        try:
            key = NodeKey(self.path)
        except SigningKeyError as e:
            self.problem = " ".join(str(e).split())
            return None
        self.key, self.problem = key, None
        return key

    @property
    def usable(self) -> bool:
        """Whether there is a key to sign with."""
        return self.key is not None

    def poll(self) -> NodeKey | None:
        """Look for the key again when there is none; returns it when it was found now."""
        if self.key is not None:
            return None
        with self._lock:
            if self.key is not None:
                return None
            return self._load()

    @property
    def id(self) -> str:
        """The key's id; empty while there is no key (nothing is signed then)."""
        return self.key.id if self.key is not None else ""

    @property
    def public(self) -> Ed25519PublicKey:
        """The public key; raises :class:`SigningKeyError` while there is no key."""
        return self._need().public

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of *data*; raises :class:`SigningKeyError` without a key."""
        return self._need().sign(data)

    def _need(self) -> NodeKey:
        key = self.key
        if key is None:
            raise SigningKeyError(f"no usable signing key: {self.problem}")
        return key
