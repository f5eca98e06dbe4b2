"""What can still be read from a damaged outbox file, row by row.

A damaged page makes every query that walks through it fail, so each table and index is
read forward until the damage and backward from its end until the damage, and the rows
between are looked up one at a time by sequence number (a lookup descends from the root
and misses only the pages that are broken). The indexes are read too: they hold the
sequence numbers (and the ids) of messages whose rows are unreadable, which is how the
lost are counted and named.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.outbox.message import OutboxMessage, Pending
from edge.outbox.schema import MESSAGE_COLUMNS, row

Route = Callable[[OutboxMessage], Sequence[str]]
"""Who a message may go to by the sharing policy, for messages whose delivery rows are lost."""

MAX_PROBES = 1_000_000
"""Sequence numbers looked up one by one at most (a damaged table of a huge outbox)."""


@dataclass
class Salvage:
    """What was read: messages with their destinations, and what is known to be lost."""

    messages: dict[int, Pending] = field(default_factory=dict)
    destinations: dict[int, set[str]] = field(default_factory=dict)
    known: dict[int, str | None] = field(default_factory=dict)
    """Every message whose existence was seen anywhere: seq -> id (None if unreadable)."""
    counters: dict[str, int] = field(default_factory=dict)
    sequence: int = 0
    """The highest sequence number ever handed out (new ones continue above it)."""
    deliveries_complete: bool = False
    """True when the delivery table was read from end to end."""
    unrouted: int = 0
    """Messages read whose destinations are lost and who may have them is unknown."""

    @property
    def lost_ids(self) -> list[str]:
        """Ids (where readable) of the messages seen but not recovered, oldest first."""
        gone = sorted(set(self.known) - set(self.routed))
        return [self.known[s] or f"seq {s}" for s in gone]

    @property
    def routed(self) -> dict[int, Pending]:
        """The recovered messages that have somewhere to go."""
        return {s: p for s, p in self.messages.items() if self.destinations.get(s)}


def _rows(db: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> Iterator[Any]:
    """Rows of *sql* until the end or the first damaged page (then it just stops)."""
    try:
        yield from db.execute(sql, args)
    except sqlite3.DatabaseError:
        return


def _one(db: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> Any:
    """The first row of *sql*, or None when there is none or it cannot be read."""
    return next(_rows(db, sql, args), None)


def _read_messages(db: sqlite3.Connection, out: Salvage) -> None:
    cols = MESSAGE_COLUMNS
    point = f"SELECT {cols} FROM message WHERE seq = ?"  # noqa: S608
    after = f"SELECT {cols} FROM message WHERE seq > ? ORDER BY seq"  # noqa: S608
    read: dict[int, Any] = {}
    for r in _rows(db, f"SELECT {cols} FROM message ORDER BY seq"):  # noqa: S608
        read[int(r[0])] = r
    for r in _rows(db, f"SELECT {cols} FROM message ORDER BY seq DESC"):  # noqa: S608
        read[int(r[0])] = r
    top = max([out.sequence, *read, *out.known])
    seq, probes = 1, 0
    while seq <= top and probes < MAX_PROBES:  # the gap between the ends, row by row
        if seq in read:
            seq += 1
            continue
        probes += 1
        r = _one(db, point, (seq,))
        if r is None:
            seq += 1
            continue
        read[seq] = r
        last = seq
        for more in _rows(db, after, (seq,)):  # on from here while the pages allow
            if int(more[0]) in read:
                break
            last = int(more[0])
            read[last] = more
        seq = last + 1
    for s, r in read.items():
        out.known.setdefault(s, None)
        try:
            p = row(r)
        except Exception:  # noqa: S112 - garbage in a page that still parses: lost
            continue
        out.messages[s] = p
        out.known[s] = p.message.id


_BY_ID = "SELECT id, seq FROM message INDEXED BY sqlite_autoindex_message_1 ORDER BY id"
_BY_CLASS = "SELECT seq FROM message INDEXED BY message_class ORDER BY priority{0}, seq{0}"
_BY_KEY = "SELECT destination, seq FROM delivery NOT INDEXED ORDER BY destination{0}, seq{0}"
_BY_ORDER = (
    "SELECT destination, seq FROM delivery INDEXED BY delivery_order"
    " ORDER BY destination{0}, priority{0}, seq{0}"
)


def _read_indexes(db: sqlite3.Connection, out: Salvage) -> None:
    """Sequence numbers and ids from the message indexes, forward and backward."""
    for order in ("", " DESC"):
        for r in _rows(db, _BY_ID + order):
            out.known[int(r[1])] = str(r[0])
        for r in _rows(db, _BY_CLASS.format(order)):
            out.known.setdefault(int(r[0]), None)


def _read_deliveries(db: sqlite3.Connection, out: Salvage) -> None:
    complete = False
    for sql in [q.format(o) for q in (_BY_KEY, _BY_ORDER) for o in ("", " DESC")]:
        ended = True
        try:
            for dest, seq in db.execute(sql):
                out.destinations.setdefault(int(seq), set()).add(str(dest))
                out.known.setdefault(int(seq), None)
        except sqlite3.DatabaseError:
            ended = False
        complete = complete or ended
    out.deliveries_complete = complete


def salvage(db: sqlite3.Connection, route: Route | None = None) -> Salvage:
    """Everything readable in the outbox behind *db*. Messages whose delivery rows are lost
    go where *route* says (the sharing policy decides again); without one they are lost."""
    out = Salvage()
    seq = _one(db, "SELECT seq FROM sqlite_sequence WHERE name = 'message'")
    out.sequence = int(seq[0]) if seq is not None else 0
    top = _one(db, "SELECT max(seq) FROM message")
    if top is not None and top[0] is not None:
        out.sequence = max(out.sequence, int(top[0]))
    for name, value in _rows(db, "SELECT name, value FROM counter"):
        out.counters[str(name)] = int(value)
    _read_indexes(db, out)
    _read_deliveries(db, out)
    out.sequence = max([out.sequence, *out.known])
    _read_messages(db, out)
    out.sequence = max([out.sequence, *out.known])
    if not out.deliveries_complete:  # some delivery rows are lost: the policy decides again
        for s, p in out.messages.items():
            allowed = set(route(p.message)) if route is not None else set()
            out.destinations[s] = out.destinations.get(s, set()) | allowed
            out.unrouted += 0 if out.destinations[s] else 1
    return out


def write(db: sqlite3.Connection, found: Salvage, lost_counter: str) -> None:
    """Store *found* in the fresh outbox behind *db* (sequence numbers kept, so messages in
    flight keep theirs) and count the lost under *lost_counter*."""
    routed = found.routed
    lost = len(found.known) - len(routed)
    db.execute("BEGIN IMMEDIATE")
    for seq in sorted(routed):
        m = routed[seq].message
        db.execute(
            "INSERT INTO message(seq, id, priority, kind, topic, payload, retain, created,"
            " expires, file, offset, length, properties) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT DO NOTHING",
            (seq, m.id, int(m.priority), m.kind, m.topic, m.payload, int(m.retain), m.created,
             m.expires, m.file, m.offset, m.length, json.dumps(list(m.properties))),
        )  # fmt: skip
        db.executemany(
            "INSERT OR IGNORE INTO delivery(destination, seq, priority) VALUES (?,?,?)",
            [(d, seq, int(m.priority)) for d in sorted(found.destinations[seq])],
        )
    counters = dict(found.counters)
    counters[lost_counter] = counters.get(lost_counter, 0) + lost
    db.executemany(
        "INSERT INTO counter(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
        " SET value = excluded.value",
        [(k, v) for k, v in counters.items() if v],
    )
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'message'")
    db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('message', ?)", (found.sequence,))
    db.execute("COMMIT")
