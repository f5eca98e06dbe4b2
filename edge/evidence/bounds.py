"""What a walk through the audit chain keeps, and the two ways a shortened chain shows even
when the chain itself is whole:

* **A head kept outside the log is missing** (:func:`missing_anchor`): the receiver archived
  it from a heartbeat, or the node kept it in ``audit.head``; the log was cut or rewritten
  after it (deleted or emptied, when there is no log left).
* **More is unsigned than the node ever leaves unsigned** (:func:`unsigned_problem`, with the
  public keys): the node signs after every :data:`CHECKPOINT_EVERY` records, at every
  heartbeat and at start. More records than that after the last checkpoint, or records
  after it spanning more than two heartbeat intervals, mean checkpoints were removed (or the
  node could not sign or write them: no usable key, ``audit.checkpoint_failed`` in its
  log). An acknowledgement chain exported by the receiver (its ``key_init`` names a
  receiver) is signed by count only, so only the count applies to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from edge.evidence.anchors import Anchor, stamp
from edge.evidence.chain import CHECKPOINT, CHECKPOINT_EVERY, GENESIS

DEFAULT_INTERVAL_S = 60.0
"""The node's default heartbeat interval (``health.interval_s``)."""


def record_seq(rec: Mapping[str, object]) -> int:
    """The seq of a record the walk found following the one before (so a number equal to
    the next integer); ``ValueError`` for anything else."""
    seq = rec["seq"]
    if not isinstance(seq, int | float):
        raise ValueError(f"record seq {seq!r} is not a number")
    return int(seq)


@dataclass
class Walk:
    """The state of a walk through the chain, record by record."""

    wanted: set[str]
    """Heads to look for."""
    prev: str = GENESIS
    seq: int = 0
    count: int = 0
    checkpoints: int = 0
    signed_seq: int = 0
    found: dict[str, int] = field(default_factory=dict)
    """Wanted head -> its seq."""
    unsigned_from: tuple[int, float | None] | None = None
    """Seq and time of the first record after the newest checkpoint."""
    last_time: float | None = None
    key: str | None = None
    """The key of the newest checkpoint."""
    announced: set[str] = field(default_factory=set)
    """Keys named by key_init and key_change records so far."""
    receiver_chain: bool = False
    notes: list[str] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    """Seqs of chain_break records."""

    def take(self, rec: Mapping[str, object]) -> None:
        """Move on past the whole, following record *rec*."""
        self.prev, self.seq, self.count = str(rec["hash"]), record_seq(rec), self.count + 1
        when = rec.get("time")
        self.last_time = float(when) if isinstance(when, (int, float)) else self.last_time
        if self.prev in self.wanted:
            self.found[self.prev] = self.seq
        if rec.get("action") != CHECKPOINT and self.unsigned_from is None:
            self.unsigned_from = (self.seq, self.last_time)

    def key_problem(self, kid: str, seq: int) -> str | None:
        """Why checkpoint *seq* may not be signed by *kid*: another key signed before it and
        no key_change (or key_init) record names *kid*."""
        if self.key is None or kid == self.key or kid in self.announced:
            return None
        return (
            f"is signed by key {kid}, but key {self.key} signed the chain before it (up to seq "
            f"{self.signed_seq}) and no key_change record names {kid}: the signing key was "
            f"swapped without a record"
        )

    def checkpoint(self, rec: Mapping[str, object]) -> None:
        """Count the checkpoint *rec* (its signature was judged already)."""
        kid = str(rec.get("key_id"))
        if self.key is not None and kid != self.key and kid not in self.announced:
            self.notes.append(
                f"checkpoint seq {rec['seq']} is signed by key {kid} after key {self.key} with "
                f"no key_change record (check with --public-key)"
            )
        self.checkpoints, self.signed_seq, self.key = self.checkpoints + 1, record_seq(rec), kid
        self.unsigned_from = None

    def announce(
        self, kid: str, *, receiver: bool = False, old: str | None = None, seq: int = 0
    ) -> None:
        """A key_init (or, with *old*, a key_change at *seq*) names the key *kid*."""
        self.announced.add(kid)
        self.receiver_chain = self.receiver_chain or receiver
        if old is not None:
            self.notes.append(f"key changed at seq {seq}: {old} -> {kid} (recorded)")

    def chain_break(self, rec: Mapping[str, object]) -> None:
        """A chain_break record: the node found its log shorter than the head it had signed."""
        self.breaks.append(record_seq(rec))
        self.notes.append(
            f"chain break recorded at seq {rec['seq']}: the node found its log "
            f"{rec.get('found')} where seq {rec.get('expected_seq')} (head "
            f"{rec.get('expected_head')}) was expected; the records before it are lost"
        )


def missing_anchor(a: Anchor, w: Walk, exists: bool) -> str:
    """The line for the head *a* that the log does not hold."""
    said = f"{a.source} says it held head {a.head}"
    if not exists:
        return f"the log is missing, but {said}: the log was deleted, and every record up to that head with it"  # noqa: E501
    if w.count == 0:
        return f"the log is empty, but {said}: the log was emptied, and every record up to that head with it"  # noqa: E501
    line = (
        f"the log was cut or rewritten after {a.head}: that head ({a.source}) is not in the "
        f"chain, which ends at seq {w.seq} ({stamp(w.last_time)}); records the node had "
        f"signed up to it are missing"
    )
    if w.breaks:
        line += f" (the node recorded a chain break at seq {', '.join(map(str, w.breaks))})"
    return line


def unsigned_problem(w: Walk, interval_s: float) -> str | None:
    """Why what follows the newest checkpoint is more than the node leaves unsigned."""
    unsigned = w.count - w.signed_seq
    if w.unsigned_from is None or unsigned <= 0:
        return None
    after = f"after checkpoint seq {w.signed_seq}" if w.checkpoints else "and no checkpoint"
    cut = (
        f"checkpoints were removed: the log was cut or rewritten after seq {w.signed_seq} "
        "(or the node could not sign or write them: a missing key, audit.checkpoint_failed "
        "in its log)"
    )
    if unsigned > CHECKPOINT_EVERY:
        return (
            f"{unsigned} records {after}, but the node signs after every {CHECKPOINT_EVERY}: {cut}"
        )
    first, since = w.unsigned_from
    if since is None or w.last_time is None or w.receiver_chain:
        return None
    span = w.last_time - since
    if span <= 2 * interval_s:
        return None
    return (
        f"{unsigned} records {after} span {span:.0f} s (seq {first} at {stamp(since)} to seq "
        f"{w.seq} at {stamp(w.last_time)}), but the node signs at every heartbeat (two "
        f"intervals: {2 * interval_s:g} s with --interval {interval_s:g}; give the node's "
        f"health.interval_s if it differs): {cut}"
    )
