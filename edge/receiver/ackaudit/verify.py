"""Checking the acknowledgement audit: every chain record follows the one before and hashes
right, every checkpoint and the head are signed by a trusted receiver key (the registered
ones, or only those pinned with ``--public-key``), the head is the chain's last record,
every ``acks`` row matches its acknowledgement record and every such record has its row,
every incident note and incident matches its records (:mod:`.verify_incidents`), every
retention deletion and hold matches its row (:mod:`.verify_retention`), every access
of the police access log matches its index row (:mod:`.verify_access`), and every head a
receiver kept in its data directory is still in the chain.

Each problem is one line naming the record, row, key or file concerned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.evidence.chain import CHECKPOINT, GENESIS, record_hash
from edge.evidence.keys import SigningKeyError, key_id, load_public
from edge.receiver.ackaudit.chain import read_head
from edge.receiver.ackaudit.local import read_anchors
from edge.receiver.ackaudit.records import ACKNOWLEDGE, INCIDENT, KEY_INIT, checkpoint_holds
from edge.receiver.ackaudit.verify_access import check_accesses
from edge.receiver.ackaudit.verify_incidents import IncidentWalk, check_notes
from edge.receiver.ackaudit.verify_retention import check_retention
from edge.receiver.store import chainreads
from edge.receiver.store.database import Database

AckKey = tuple[str, str, str]
"""(site, node, event id)."""


@dataclass(frozen=True)
class ChainCheck:
    """What :func:`verify_chain` found."""

    records: int
    acks: int
    """Acknowledgement rows."""
    head_seq: int
    head: str
    checkpoints: int
    keys: tuple[str, ...]
    """Ids of the keys trusted for signatures."""
    pinned: bool
    """The trusted keys were given (``--public-key``), not taken from the store."""
    problems: tuple[str, ...] = ()
    notes: int = 0
    """Incident workflow notes (each checked against its record)."""
    pending: int = 0
    """The receiver's reopen notes not yet sealed into the chain."""
    accesses: int = 0
    """Access records (the police access log), each checked against its index row."""
    viewings: int = 0
    """Clip and snapshot viewings kept but not chained yet (chained when they end)."""

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def verdict(self) -> str:
        """``ok`` or ``damaged``."""
        return "ok" if self.ok else "damaged"


@dataclass
class _Walk:
    """State of the walk along the chain."""

    trusted: dict[str, Ed25519PublicKey]
    registered: dict[str, str]
    """key id -> registered public key PEM."""
    problems: list[str] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    acks: dict[AckKey, list[tuple[int, dict[str, object]]]] = field(default_factory=dict)
    prev: str = GENESIS
    prev_seq: int = 0
    checkpoints: int = 0
    incidents: IncidentWalk = field(default_factory=IncidentWalk)


def _keys(db: Database, problems: list[str]) -> tuple[dict[str, Ed25519PublicKey], dict[str, str]]:
    keys, pems = {}, {}
    for kid, receiver, pem in chainreads.receiver_keys(db):
        name = f"receiver key {kid} ({receiver})"
        try:
            public = load_public(str(pem))
        except (ValueError, SigningKeyError):
            problems.append(f"{name}: not a usable Ed25519 public key")
            continue
        if key_id(public) != kid:
            problems.append(f"{name}: the key id does not match its public key")
            continue
        keys[str(kid)], pems[str(kid)] = public, str(pem)
    return keys, pems


def _record(w: _Walk, seq: int, stored_hash: str, text: str) -> None:
    name = f"chain record seq {seq}"
    try:
        rec = json.loads(text)
        if not isinstance(rec, dict):
            raise ValueError("not an object")
    except ValueError:
        w.problems.append(f"{name}: not a JSON record (edited)")
        return
    whole = record_hash(rec) == rec.get("hash") == stored_hash and rec.get("seq") == seq
    if not whole:
        w.problems.append(f"{name}: altered (its hash does not match its content)")
    elif seq != w.prev_seq + 1:
        w.problems.append(f"{name}: the sequence jumps from {w.prev_seq} to {seq} "
                          "(records deleted)")  # fmt: skip
    elif rec.get("prev") != w.prev:
        w.problems.append(f"{name}: does not follow record seq {w.prev_seq} (a record before "
                          "it was changed, inserted or deleted)")  # fmt: skip
    action = rec.get("action")
    if action == CHECKPOINT:
        _checkpoint(w, name, rec)
    elif action == KEY_INIT:
        kid = str(rec.get("key_id"))
        if kid not in w.registered:
            w.problems.append(f"{name}: names receiver key {kid}, which is not registered")
        elif str(rec.get("public_key", "")).strip() != w.registered[kid].strip():
            w.problems.append(f"{name}: names receiver key {kid} with another public key than "
                              "the registered one")  # fmt: skip
    elif rec.get("kind") == INCIDENT:
        w.incidents.add(seq, rec)
    elif action == ACKNOWLEDGE:
        ack = (str(rec.get("site")), str(rec.get("node")), str(rec.get("id")))
        w.acks.setdefault(ack, []).append((seq, rec))


def _checkpoint(w: _Walk, name: str, rec: dict[str, object]) -> None:
    w.checkpoints += 1
    if rec.get("head") != w.prev or rec.get("head_seq") != w.prev_seq:
        w.problems.append(f"{name}: the checkpoint does not sign the record before it")
        return
    kid = str(rec.get("key_id"))
    public = w.trusted.get(kid)
    if public is None:
        w.problems.append(f"{name}: checkpoint signed by key {kid}, not a trusted receiver key")
    elif not checkpoint_holds(rec, public):
        w.problems.append(f"{name}: the checkpoint's signature does not verify (the records "
                          "before it were rewritten)")  # fmt: skip


def _head(db: Database, w: _Walk, records: int) -> tuple[int, str]:
    with db.transaction() as cur:
        head = read_head(cur)
    if head is None:
        if records:
            w.problems.append(f"signed head: missing, though the chain has {records} records")
        return 0, GENESIS
    name = f"signed head (seq {head.seq})"
    public = w.trusted.get(head.key_id)
    if public is None:
        w.problems.append(f"{name}: signed by key {head.key_id}, not a trusted receiver key")
    elif not head.holds(public):
        w.problems.append(f"{name}: the signature does not verify (the head was rewritten "
                          "without the receiver key)")  # fmt: skip
    if head.seq > w.prev_seq:
        w.problems.append(f"{name}: the chain ends at seq {w.prev_seq}: records "
                          f"{w.prev_seq + 1}..{head.seq} were cut")  # fmt: skip
    elif head.seq < w.prev_seq:
        w.problems.append(f"{name}: records {head.seq + 1}..{w.prev_seq} come after the signed "
                          "head (appended without a receiver key)")  # fmt: skip
    elif head.hash != w.prev:
        w.problems.append(f"{name}: the chain's last record is not the one the head signed")
    return head.seq, head.hash


def _rows(db: Database, w: _Walk) -> int:
    rows = chainreads.acks(db)
    for seq, site, node, event_id, user, note, when, audit_hash in rows:
        name = f"ack row {seq} ({site}/{node}/{event_id} by {user})"
        found = w.acks.pop((str(site), str(node), str(event_id)), [])
        if not found:
            w.problems.append(f"{name}: no chain record (inserted, or its record deleted)")
            continue
        rseq, rec = found[0]
        fields = {
            "name": (user, rec.get("user")),
            "note": (note, rec.get("note")),
            "time": (float(when), rec.get("time")),
            "record hash": (audit_hash, rec.get("hash")),
        }
        differ = [f for f, (row, record) in fields.items() if row != record]
        if differ:
            verb = "differs" if len(differ) == 1 else "differ"
            w.problems.append(f"{name}: {', '.join(differ)} {verb} from chain record seq {rseq} "
                              "(edited)")  # fmt: skip
        for extra, _ in found[1:]:
            w.problems.append(f"chain record seq {extra}: a second acknowledgement of "
                              f"{site}/{node}/{event_id}")  # fmt: skip
    for (site, node, event_id), left in w.acks.items():
        for rseq, rec in left:
            what = f"acknowledgement of {site}/{node}/{event_id} by {rec.get('user')}"
            w.problems.append(f"chain record seq {rseq} ({what}): no ack row (deleted)")
    return len(rows)


def verify_chain(
    db: Database, data_dir: Path | None = None, public_keys: Sequence[Ed25519PublicKey] = ()
) -> ChainCheck:
    """Check the chain, its signatures, its head and the ``acks`` rows; with *data_dir*, the
    heads kept there too; with *public_keys*, only those keys are trusted to sign."""
    problems: list[str] = []
    registered, pems = _keys(db, problems)
    trusted = {key_id(k): k for k in public_keys} if public_keys else registered
    w = _Walk(trusted, pems, problems)
    chain = chainreads.chain(db)
    for seq, stored_hash, text in chain:
        _record(w, int(seq), str(stored_hash), str(text))
        w.hashes[int(seq)] = str(stored_hash)
        w.prev, w.prev_seq = str(stored_hash), int(seq)
    head_seq, head = _head(db, w, len(chain))
    acks = _rows(db, w)
    notes, pending = check_notes(db, w.incidents, problems)
    check_retention(db, problems)
    accesses, viewings = check_accesses(db, problems, w.prev_seq)
    for anchor in read_anchors(data_dir) if data_dir is not None else []:
        if anchor.problem is not None:
            problems.append(f"{anchor.path}: {anchor.problem}")
        elif w.hashes.get(anchor.seq) != anchor.hash:
            problems.append(f"{anchor.path}: the head this receiver signed (seq {anchor.seq}) is "
                            "not in the chain: it was cut or rewritten after it")  # fmt: skip
    return ChainCheck(len(chain), acks, head_seq, head, w.checkpoints, tuple(sorted(trusted)),
                      bool(public_keys), tuple(problems), notes, pending, accesses,
                      viewings)  # fmt: skip
