"""Appending to the acknowledgement chain, inside the caller's transaction: the chain is
taken under a lock (PostgreSQL: a transaction-level advisory lock; SQLite: the writer lock
of ``BEGIN IMMEDIATE``), so two receivers on one database never fork it; what the head row
says is checked before anything is appended; a checkpoint is signed every
``checkpoint_every`` records and the head after every transaction, both with the
appending receiver's own key, registered in ``receiver_keys`` (and named by a ``key_init``
record) before it first signs."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization

from edge.core.errors import EdgeError
from edge.evidence.canonical import canonical
from edge.evidence.chain import CHECKPOINT, GENESIS
from edge.evidence.keys import NodeKey, SigningKeyError, load_public, public_pem
from edge.receiver.ackaudit.records import (
    ACKNOWLEDGE,
    KEY_INIT,
    SignedHead,
    make_checkpoint,
    make_record,
    record_text,
)
from edge.receiver.store import chainrows
from edge.receiver.store.database import Cursor

CHAIN_LOCK = chainrows.CHAIN_LOCK
"""PostgreSQL advisory lock of the chain (the schema migration holds 4242)."""
CHECKPOINT_EVERY = 100
"""Records between two signed checkpoints in the chain."""


class ChainError(EdgeError):
    """The chain in the store does not end where its signed head says: nothing is appended
    until someone has looked (``edge receive audit verify`` names the problem)."""


def ack_digest(site: str, node: str, event_id: str, user: str, note: str) -> str:
    """sha256 over what an acknowledgement says (the record's ``sha256``)."""
    fields = {"site": site, "node": node, "event": event_id, "user": user, "note": note}
    return hashlib.sha256(canonical(fields)).hexdigest()


def lock_chain(cur: Cursor, engine: str) -> None:
    """Take the chain for this transaction (a no-op on SQLite: ``BEGIN IMMEDIATE`` did)."""
    chainrows.lock(cur, engine)


def read_head(cur: Cursor) -> SignedHead | None:
    """The signed head row (None: no record was ever appended)."""
    row = chainrows.head_row(cur)
    if row is None:
        return None
    return SignedHead(int(row[0]), str(row[1]), float(row[2]), str(row[3]), str(row[4]))


class ChainWriter:
    """Appends records after :func:`lock_chain`, in the same transaction; :meth:`finish`
    signs the new head. Raises :class:`ChainError` at once when the stored chain does not
    end at its signed head."""

    def __init__(
        self, cur: Cursor, key: NodeKey, receiver: str, checkpoint_every: int = CHECKPOINT_EVERY
    ) -> None:
        self.cur, self.key, self.receiver = cur, key, receiver
        self.checkpoint_every = checkpoint_every
        self.seq, self.head = self._tail()
        fresh = self.seq == 0
        self._register_key()
        if fresh:
            self._adopt_rows()

    def _tail(self) -> tuple[int, str]:
        last = chainrows.last_record(self.cur)
        head = read_head(self.cur)
        if last is None and head is None:
            return 0, GENESIS
        if head is None:
            raise ChainError(f"the chain has records up to seq {last[0] if last else 0} but no "
                             "signed head (the head row was deleted)")  # fmt: skip
        if last is None or last != (head.seq, head.hash):
            end = f"seq {last[0]}" if last else "nothing"
            raise ChainError(f"the chain ends at {end} but its signed head is seq {head.seq}")
        stored = chainrows.receiver_key(self.cur, head.key_id)
        try:
            holds = stored is not None and head.holds(load_public(stored))
        except (ValueError, SigningKeyError):
            holds = False
        if not holds:
            raise ChainError(f"the chain's signed head (seq {head.seq}, key {head.key_id}) "
                             "does not verify")  # fmt: skip
        return head.seq, head.hash

    def _register_key(self) -> None:
        """Register this receiver's key and name it in the chain, once."""
        pem = public_pem(self.key.public)
        stored = chainrows.receiver_key(self.cur, self.key.id)
        if stored is not None:
            if stored.strip() != pem.strip():
                raise ChainError(f"receiver key {self.key.id} is registered with another "
                                 "public key")  # fmt: skip
            return
        raw = self.key.public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        record = self.append(KEY_INIT, "key", self.key.id, hashlib.sha256(raw).hexdigest(),
                             key_id=self.key.id, alg="Ed25519", public_key=pem,
                             receiver=self.receiver)  # fmt: skip
        chainrows.register_key(self.cur, self.key.id, self.receiver, pem, record["time"])

    def _adopt_rows(self) -> None:
        """Acknowledgements stored before the chain was kept in the store (by a receiver
        that wrote ``DATA/audit/dashboard.log``) enter the chain once, marked ``adopted``
        with their old record hash, when the chain starts."""
        rows = chainrows.ack_rows(self.cur)
        for seq, site, node, event_id, user, note, when, old in rows:
            record = self.acknowledge(str(site), str(node), str(event_id), str(user),
                                      str(note), when=float(when), adopted=True,
                                      legacy_hash=str(old))  # fmt: skip
            chainrows.set_ack_hash(self.cur, seq, record["hash"])

    def acknowledge(
        self, site: str, node: str, event_id: str, user: str, note: str, **extra: object
    ) -> dict[str, Any]:
        """Append the record of an acknowledgement (the caller writes its row); it names
        the receiver that wrote it."""
        return self.append(ACKNOWLEDGE, "event", event_id,
                           ack_digest(site, node, event_id, user, note), site=site, node=node,
                           user=user, note=note, receiver=self.receiver, **extra)  # fmt: skip

    def append(
        self, action: str, kind: str, item_id: str, sha256: str, **extra: object
    ) -> dict[str, Any]:
        """Append one record; returns it."""
        record = make_record(
            self.seq + 1, self.head, action, kind=kind, item_id=item_id, sha256=sha256, **extra
        )
        self._insert(record)
        return record

    def _insert(self, record: dict[str, Any]) -> None:
        chainrows.add_record(self.cur, int(record["seq"]), str(record["hash"]),
                             str(record["action"]), record_text(record))  # fmt: skip
        self.seq, self.head = int(record["seq"]), str(record["hash"])

    def finish(self) -> SignedHead:
        """Sign a checkpoint when one is due, then the head; store the head."""
        signed = chainrows.last_seq_of(self.cur, CHECKPOINT)
        if self.seq - signed >= self.checkpoint_every:
            self._insert(make_checkpoint(self.seq + 1, self.head, self.seq, self.key))
        head = SignedHead.sign(self.seq, self.head, self.key)
        chainrows.put_head(self.cur, head.seq, head.hash, time=head.time, key_id=head.key_id,
                           signature=head.signature)  # fmt: skip
        return head
