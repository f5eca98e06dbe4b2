"""Heads kept outside the log, that the log must still hold: each is an *anchor*.

* Heads the receiver archived from the node's heartbeats (``edge receive heads SITE/NODE``,
  its ``--json`` or its table), given to ``edge audit verify`` with ``--head HASH`` or
  ``--heads-file FILE``. The node signs a checkpoint before every heartbeat, so each is a
  signed head the police saw; if one is not in the log, the log was cut or rewritten after
  it, whoever holds the node's key.
* The head state the node keeps beside its log (``audit.head``): the last head it signed.

A head file that cannot be read is refused with the file and the line or entry at fault.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from edge.core.errors import EvidenceError
from edge.evidence.chain import GENESIS
from edge.evidence.headstate import HEX64, HeadStateError, read_state, state_path


class HeadsFileError(EvidenceError):
    """A heads file (or a head) that is not what ``edge receive heads`` writes."""


@dataclass(frozen=True)
class Anchor:
    """A head the log must hold: the hash, where it comes from, and what is known of it."""

    head: str
    source: str
    """For people: ``--head``, ``heads.json entry 3 (archived 2026-12-01 10:00:00Z)``."""
    seq: int | None = None
    """The seq it must be found at, when known (the node's head state)."""
    time: float | None = None
    """When it was archived or signed, when known (Unix seconds)."""


def stamp(when: float | None) -> str:
    """*when* in UTC for messages (``?`` when unknown)."""
    return "?" if when is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(when))


def head_anchor(head: str) -> Anchor:
    """The anchor of ``--head HASH``; raises :class:`HeadsFileError` for a malformed hash."""
    value = head.strip().lower()
    if not HEX64.fullmatch(value):
        raise HeadsFileError(f"--head {head!r}: not an audit head (64 hex digits)")
    return Anchor(value, "--head")


def _number(value: object) -> float | None:
    """*value* as a number; None when it is none (null, a list, text that is no number)."""
    if not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _from_json(path: Path, data: object) -> list[Anchor]:
    rows = data if isinstance(data, list) else [data]
    out = []
    for n, row in enumerate(rows, 1):
        head = row.get("head") if isinstance(row, dict) else row
        if not isinstance(head, str) or not HEX64.fullmatch(head):
            raise HeadsFileError(
                f"{path}: entry {n}: no audit head (64 hex digits) in {json.dumps(row)[:120]}"
            )
        when = _number(row.get("time")) if isinstance(row, dict) else None
        archived = f" (archived {stamp(when)})" if when is not None else ""
        out.append(Anchor(head, f"{path.name} entry {n}{archived}", time=when))
    return out


def _from_text(path: Path, text: str) -> list[Anchor]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#") or words == ["time", "head"]:
            continue  # blank, a comment, or the header of `edge receive heads`
        heads = [w for w in words if HEX64.fullmatch(w)]
        if len(heads) != 1:
            raise HeadsFileError(
                f"{path}:{n}: expected one audit head (64 hex digits) in {line.strip()[:120]!r}"
            )
        rest = " ".join(w for w in words if w != heads[0])
        out.append(Anchor(heads[0], f"{path.name}:{n}" + (f" ({rest})" if rest else "")))
    return out


def read_heads(path: Path) -> list[Anchor]:
    """The heads in *path*: the output of ``edge receive heads SITE/NODE --json`` (a list of
    ``{"head", "time"}``), or its table, or one head per line. Raises ``OSError`` when the
    file cannot be read and :class:`HeadsFileError` naming the line or entry at fault."""
    text = path.read_text()
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise HeadsFileError(f"{path}: not JSON: {e}") from e
        anchors = _from_json(path, data)
    else:
        anchors = _from_text(path, text)
    if not anchors:
        raise HeadsFileError(f"{path}: no audit head in it (an empty list proves nothing)")
    return anchors


def state_anchor(log_path: Path) -> Anchor | None:
    """The head the node kept beside the log at *log_path* (``audit.head``), if there is
    one. Raises :class:`HeadsFileError` when it is there but unreadable."""
    path = state_path(log_path)
    try:
        state = read_state(path)
    except HeadStateError as e:
        raise HeadsFileError(str(e)) from e
    if state is None or state.head == GENESIS:
        return None
    source = f"{path.name} (the node's last signed head, seq {state.seq}, {stamp(state.time)})"
    return Anchor(state.head, source, state.seq, state.time)
