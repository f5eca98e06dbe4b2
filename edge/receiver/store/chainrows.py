"""The acknowledgement chain's tables: ``ack_chain`` (one record per row, by seq),
``ack_chain_head`` (the one signed head row), ``receiver_keys`` (the keys receivers sign
with) and the ``audit_hash`` of ``acks`` rows; and the chain's lock. Every function works
inside the caller's transaction; the rules are :mod:`edge.receiver.ackaudit.chain`'s."""

from __future__ import annotations

from edge.receiver.store.database import Cursor

CHAIN_LOCK = 4243
"""PostgreSQL advisory lock of the chain (the schema migration holds 4242)."""


def lock(cur: Cursor, engine: str) -> None:
    """Take the chain for this transaction (a no-op on SQLite: ``BEGIN IMMEDIATE`` did)."""
    if engine == "postgresql":
        cur.execute("SELECT pg_advisory_xact_lock(?)", (CHAIN_LOCK,))


def head_row(cur: Cursor) -> tuple[int, str, float, str, str] | None:
    """(seq, hash, time, key_id, signature) of the signed head (None: none yet)."""
    row = cur.execute(
        "SELECT seq, hash, time, key_id, signature FROM ack_chain_head WHERE one = 1"
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def put_head(
    cur: Cursor, seq: int, hash_: str, *, time: float, key_id: str, signature: str
) -> None:
    """Store the signed head."""
    cur.execute(
        "INSERT INTO ack_chain_head (one, seq, hash, time, key_id, signature)"
        " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET seq = excluded.seq,"
        " hash = excluded.hash, time = excluded.time, key_id = excluded.key_id,"
        " signature = excluded.signature",
        (seq, hash_, time, key_id, signature),
    )


def last_record(cur: Cursor) -> tuple[int, str] | None:
    """(seq, hash) of the chain's last record (None: empty)."""
    row = cur.execute("SELECT seq, hash FROM ack_chain ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def add_record(cur: Cursor, seq: int, hash_: str, action: str, text: str) -> None:
    """Append one record (*text*: its stored JSON line)."""
    cur.execute(
        "INSERT INTO ack_chain (seq, hash, action, record) VALUES (?, ?, ?, ?)",
        (seq, hash_, action, text),
    )


def last_seq_of(cur: Cursor, action: str) -> int:
    """The seq of the last record of *action* (0: none)."""
    row = cur.execute("SELECT MAX(seq) FROM ack_chain WHERE action = ?", (action,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def receiver_key(cur: Cursor, key_id: str) -> str | None:
    """The registered public key (PEM) of *key_id* (None: not registered)."""
    row = cur.execute("SELECT public_key FROM receiver_keys WHERE key_id = ?", (key_id,)).fetchone()
    return None if row is None else str(row[0])


def register_key(cur: Cursor, key_id: str, receiver: str, pem: str, registered: float) -> None:
    """Register receiver *receiver*'s public key *pem* as *key_id*."""
    cur.execute(
        "INSERT INTO receiver_keys (key_id, receiver, public_key, registered) VALUES (?, ?, ?, ?)",
        (key_id, receiver, pem, registered),
    )


def ack_rows(cur: Cursor) -> list[tuple[int, str, str, str, str, str, float, str]]:
    """(seq, site, node, event_id, username, note, time, audit_hash) of every ``acks`` row,
    in order."""
    rows = cur.execute(
        "SELECT seq, site, node, event_id, username, note, time, audit_hash FROM acks ORDER BY seq"
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


def set_ack_hash(cur: Cursor, seq: int, hash_: str) -> None:
    """The ``acks`` row *seq* is recorded in the chain as *hash_*."""
    cur.execute("UPDATE acks SET audit_hash = ? WHERE seq = ?", (hash_, seq))
