"""Continuity of the audit chain across starts: what the node finds when it opens its log
and why it says so.

* A **chain break**: the head state beside the log (``audit.head``, written at every
  checkpoint) says the node had signed up to seq N, but the log is missing, empty, ends
  before N, or holds another record at N. The node does not stop for it (life safety
  first): the break becomes the next record of the chain (the first of a new one when the
  log is gone), naming what was expected and what was found, an ``audit.chain_break`` error
  and a heartbeat reason.
* A **key change**: the key the node signs with is not the one that signed last. A
  ``key_change`` record (old and new key id, the new public key) goes into the chain before
  the new key signs anything, with an ``audit.key_change`` warning and a heartbeat reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from edge.evidence.headstate import HeadState
from edge.evidence.tail import KEY_CHANGE, Tail

CHAIN_BREAK = "chain_break"
"""The action of the record saying the chain does not go on from the head last signed."""

__all__ = ["CHAIN_BREAK", "KEY_CHANGE", "Notice", "find_break", "key_change"]


@dataclass(frozen=True)
class Notice:
    """A break or key change found by the log's writer: the record it adds to the chain
    (``action``, ``fields``), the heartbeat reason and one line for people."""

    action: str
    reason: str
    message: str
    fields: dict[str, object] = field(default_factory=dict)


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def find_break(tail: Tail, state: HeadState | None, state_name: str) -> Notice | None:
    """The chain break between the head *state* last written and the log's *tail*, if any.
    A log longer than the state is normal (records since the last checkpoint)."""
    if state is None or state.seq == 0:
        return None
    if not tail.exists:
        found = "missing"
    elif tail.seq == 0:
        found = "empty"
    elif tail.seq < state.seq:
        found = "shorter"
    elif tail.hashes.get(state.seq, state.head) != state.head:
        found = "rewritten"
    else:
        return None
    what = {
        "missing": "the audit log is missing",
        "empty": "the audit log is empty",
        "shorter": f"the audit log ends at seq {tail.seq}",
        "rewritten": f"the audit log holds another record at seq {state.seq}",
    }[found]
    message = (
        f"{what}, but {state_name} says the node had signed it up to seq {state.seq} (head "
        f"{state.head}, {_stamp(state.time)}): records were lost or removed; the chain goes on "
        f"from here with a chain_break record, and every head archived before it fails "
        f"edge audit verify --head"
    )
    fields: dict[str, object] = {
        "found": found,
        "found_seq": tail.seq,
        "found_head": tail.head,
        "expected_seq": state.seq,
        "expected_head": state.head,
        "expected_key_id": state.key_id,
        "expected_time": state.time,
        "state_file": state_name,
    }
    return Notice(CHAIN_BREAK, f"audit_chain_break:{found}", message, fields)


def key_change(old: str, new: str, public_pem: str | None, seq: int) -> Notice:
    """The notice for a signing key *new* taking over from *old* after record *seq*."""
    message = (
        f"the signing key changed from {old} to {new} (the chain was last signed by {old}, "
        f"up to seq {seq}): recorded as key_change before the new key signs; the receiver "
        f"needs the new public key (edge keys export) and the old one to verify the chain"
    )
    fields: dict[str, object] = {"old_key_id": old, "new_key_id": new, "after_seq": seq}
    if public_pem is not None:
        fields["public_key"] = public_pem
    return Notice(KEY_CHANGE, f"audit_key_change:{new}", message, fields)
