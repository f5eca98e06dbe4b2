"""One writer's way into the chain: a transaction that takes the chain's lock, appends
records beside the caller's rows and signs the new head before it commits; after the commit
the head is kept in this receiver's data directory. The receiver's key is made at its first
use (see :mod:`edge.receiver.ackaudit.local`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from edge.evidence.keys import NodeKey
from edge.receiver.ackaudit.chain import CHECKPOINT_EVERY, ChainWriter, lock_chain, read_head
from edge.receiver.ackaudit.local import load_or_create_key, write_anchor
from edge.receiver.ackaudit.records import SignedHead
from edge.receiver.store.database import Cursor, Database


class Appender:
    """Appends to the chain in the store *db* as receiver *receiver*, whose key and last
    signed head live in *data_dir*."""

    def __init__(
        self, db: Database, data_dir: Path, receiver: str, checkpoint_every: int = CHECKPOINT_EVERY
    ) -> None:
        self.db = db
        self.data_dir = data_dir
        self.receiver = receiver
        self.checkpoint_every = checkpoint_every
        self._key: NodeKey | None = None
        self._lock = threading.Lock()

    def key(self) -> NodeKey:
        """This receiver's audit key (made at its first use)."""
        if self._key is None:
            self._key = load_or_create_key(self.data_dir, self.receiver)
        return self._key

    @contextlib.contextmanager
    def transaction(self) -> Iterator[tuple[Cursor, ChainWriter]]:
        """A transaction holding the chain: what the block appends is signed (head, and a
        checkpoint when one is due) before the commit; nothing appended, nothing signed.
        Raises :class:`~edge.receiver.ackaudit.chain.ChainError` when the stored chain does
        not end at its signed head (nothing is written then)."""
        signed: SignedHead | None = None
        with self._lock:
            key = self.key()
            with self.db.transaction() as cur:
                lock_chain(cur, self.db.engine)
                head = read_head(cur)
                chain = ChainWriter(cur, key, self.receiver, self.checkpoint_every)
                yield cur, chain
                if chain.seq != (head.seq if head else 0):
                    signed = chain.finish()
            if signed is not None:
                write_anchor(self.data_dir, self.receiver, signed)
