"""Acknowledgements: an officer's note on an event, stored with who and when. The row and
its record in the acknowledgement chain (:mod:`edge.receiver.ackaudit`) are written in one
transaction, with the chain's head signed by this receiver's own key; the row keeps the
record's hash, so each one can be found in the chain, and ``verify`` checks every row
against it (``/admin``, ``edge receive audit verify``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from starlette.exceptions import HTTPException

from edge.core.logs import get_logger
from edge.evidence.keys import NodeKey
from edge.receiver.ackaudit.chain import CHECKPOINT_EVERY, ChainError, ChainWriter, lock_chain
from edge.receiver.ackaudit.local import load_or_create_key, write_anchor
from edge.receiver.ackaudit.verify import ChainCheck, verify_chain
from edge.receiver.store import acks
from edge.receiver.store.database import Cursor, Database

log = get_logger(__name__)

MAX_NOTE = 2000


class Acks:
    """The acks table and the chain beside it, for receiver *receiver* whose key and last
    signed head live in *data_dir*."""

    def __init__(
        self,
        db: Database,
        data_dir: Path,
        receiver: str,
        checkpoint_every: int = CHECKPOINT_EVERY,
    ) -> None:
        self.db = db
        self.data_dir = data_dir
        self.receiver = receiver
        self.checkpoint_every = checkpoint_every
        self._key: NodeKey | None = None
        self._lock = threading.Lock()

    def key(self) -> NodeKey:
        """This receiver's audit key (made at the first acknowledgement)."""
        if self._key is None:
            self._key = load_or_create_key(self.data_dir, self.receiver)
        return self._key

    def of(self, site: str, node: str, event_id: str) -> dict[str, object] | None:
        """The acknowledgement of one event (None: not acknowledged)."""
        return acks.ack_of(self.db, site, node, event_id)

    def acknowledge(
        self, site: str, node: str, event_id: str, user: str, note: str, *,
        also: Callable[[Cursor, ChainWriter], object] | None = None,
    ) -> dict[str, object] | None:  # fmt: skip
        """Acknowledge an event; returns its chain record, or None if it already was. A
        chain that does not end at its signed head takes nothing (409, logged). *also*
        appends more in the same transaction (the event's incident acknowledged)."""
        note = note.replace("\0", "").strip()[:MAX_NOTE]
        with self._lock:
            key = self.key()
            try:
                with self.db.transaction() as cur:
                    lock_chain(cur, self.db.engine)
                    if acks.acked(cur, site, node, event_id):
                        return None  # another officer (or receiver) was first
                    chain = ChainWriter(cur, key, self.receiver, self.checkpoint_every)
                    record = chain.acknowledge(site, node, event_id, user, note)
                    acks.put_ack(cur, (site, node, event_id), user, note, when=record["time"],
                                 audit_hash=record["hash"])  # fmt: skip
                    if also is not None:
                        also(cur, chain)
                    head = chain.finish()
            except ChainError as e:
                log.error("audit.chain_damaged", event_id=event_id, user=user, error=str(e))
                raise HTTPException(409, f"not acknowledged: {e}; see /admin") from e
            write_anchor(self.data_dir, self.receiver, head)
        log.info("web.acknowledged", site=site, node=node, event_id=event_id, user=user,
                 audit=record["hash"], seq=record["seq"])  # fmt: skip
        return record

    def verify(self) -> ChainCheck:
        """Check the chain, its signatures, its head, every row and this data directory's
        kept heads."""
        return verify_chain(self.db, self.data_dir)
