"""The receiver's tables, written once for both engines. ``{serial}``, ``{blob}`` and
``{real}`` are filled in per engine; everything else is SQL both understand (upserts with
``ON CONFLICT``, partial unique indexes). Each migration runs once, in order, recorded in
``schema_version``."""

from __future__ import annotations

from collections.abc import Callable

from edge.receiver.store.backfill import backfill
from edge.receiver.store.sqlcursor import SqlCursor

TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "real": "REAL"},
    "postgresql": {
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "blob": "BYTEA",
        "real": "DOUBLE PRECISION",
    },
}

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE nodes (
            site TEXT NOT NULL, node TEXT NOT NULL, public_key TEXT NOT NULL,
            key_id TEXT NOT NULL UNIQUE, enrolled {real} NOT NULL,
            last_seen {real}, last_health TEXT, health_status TEXT,
            online INTEGER NOT NULL DEFAULT 0, status_time {real}, audit_head TEXT,
            PRIMARY KEY (site, node))""",
        """CREATE TABLE seen (
            site TEXT NOT NULL, node TEXT NOT NULL, id TEXT NOT NULL, sha256 TEXT NOT NULL,
            part TEXT NOT NULL, received {real} NOT NULL, PRIMARY KEY (site, node, id))""",
        """CREATE TABLE events (
            seq {serial}, site TEXT NOT NULL, node TEXT NOT NULL, id TEXT NOT NULL,
            kind TEXT NOT NULL, severity TEXT, state TEXT, camera TEXT, sensor TEXT,
            incident TEXT, clip_id TEXT, snapshot_id TEXT, time TEXT, received {real} NOT NULL,
            payload TEXT NOT NULL, UNIQUE (site, node, id))""",
        "CREATE INDEX events_received ON events (received)",
        "CREATE INDEX events_kind ON events (kind, received)",
        "CREATE INDEX events_node ON events (node, received)",
        """CREATE TABLE clips (
            site TEXT NOT NULL, node TEXT NOT NULL, clip_id TEXT NOT NULL,
            camera TEXT, envelope TEXT, size BIGINT, sha256 TEXT, chunks INTEGER,
            state TEXT NOT NULL, path TEXT, updated {real} NOT NULL, detail TEXT,
            PRIMARY KEY (site, node, clip_id))""",
        """CREATE TABLE chunks (
            site TEXT NOT NULL, node TEXT NOT NULL, clip_id TEXT NOT NULL, n INTEGER NOT NULL,
            data {blob} NOT NULL, PRIMARY KEY (site, node, clip_id, n))""",
        """CREATE TABLE snapshots (
            site TEXT NOT NULL, node TEXT NOT NULL, id TEXT NOT NULL, sha256 TEXT NOT NULL,
            path TEXT NOT NULL, received {real} NOT NULL, PRIMARY KEY (site, node, id))""",
        """CREATE TABLE audit_heads (
            site TEXT NOT NULL, node TEXT NOT NULL, head TEXT NOT NULL, time {real} NOT NULL,
            PRIMARY KEY (site, node, head))""",
        """CREATE TABLE quarantine (
            seq {serial}, received {real} NOT NULL, topic TEXT NOT NULL, node TEXT NOT NULL,
            id TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
            sha256 TEXT NOT NULL, payload {blob} NOT NULL)""",
        """CREATE TABLE alerts (
            seq {serial}, kind TEXT NOT NULL, site TEXT NOT NULL, node TEXT NOT NULL,
            ref TEXT NOT NULL, raised {real} NOT NULL, cleared {real}, detail TEXT NOT NULL)""",
        """CREATE UNIQUE INDEX alerts_open ON alerts (kind, site, node, ref)
            WHERE cleared IS NULL""",
    ),
    (
        """CREATE TABLE users (
            name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
            created {real} NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
            locked_until {real})""",
        """CREATE TABLE sessions (
            token TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
            created {real} NOT NULL, expires {real} NOT NULL)""",
        """CREATE TABLE logins (
            seq {serial}, time {real} NOT NULL, username TEXT NOT NULL, ok INTEGER NOT NULL,
            address TEXT, detail TEXT NOT NULL)""",
        """CREATE TABLE acks (
            seq {serial}, site TEXT NOT NULL, node TEXT NOT NULL, event_id TEXT NOT NULL,
            username TEXT NOT NULL, note TEXT NOT NULL, time {real} NOT NULL,
            audit_hash TEXT NOT NULL, UNIQUE (site, node, event_id))""",
        "CREATE INDEX events_site ON events (site, seq)",
        "CREATE INDEX events_incident ON events (incident)",
        "CREATE INDEX clips_sha256 ON clips (sha256)",
        "CREATE INDEX snapshots_sha256 ON snapshots (sha256)",
    ),
    # 3: key history (every key a node had, when it was valid, who enrolled it and why).
    (
        """CREATE TABLE node_keys (
            key_id TEXT PRIMARY KEY, site TEXT NOT NULL, node TEXT NOT NULL,
            public_key TEXT NOT NULL, valid_from {real} NOT NULL, valid_until {real},
            enrolled_by TEXT NOT NULL, reason TEXT NOT NULL, replaced_by TEXT)""",
        "CREATE INDEX node_keys_node ON node_keys (site, node, valid_from)",
        """CREATE UNIQUE INDEX node_keys_current ON node_keys (site, node)
            WHERE valid_until IS NULL""",
        """CREATE TABLE key_replacements (
            seq {serial}, site TEXT NOT NULL, node TEXT NOT NULL, time {real} NOT NULL,
            old_key_id TEXT NOT NULL, new_key_id TEXT NOT NULL, username TEXT NOT NULL,
            reason TEXT NOT NULL)""",
        """INSERT INTO node_keys (key_id, site, node, public_key, valid_from, valid_until,
            enrolled_by, reason) SELECT key_id, site, node, public_key, enrolled, NULL, '',
            'enrolled before key history was kept' FROM nodes""",
    ),
    # 4: the receiver's own signed audit chain, its head, and login throttling.
    (
        """CREATE TABLE ack_chain (
            seq BIGINT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, action TEXT NOT NULL,
            record TEXT NOT NULL)""",
        """CREATE TABLE ack_chain_head (
            one INTEGER PRIMARY KEY CHECK (one = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL,
            time {real} NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL)""",
        """CREATE TABLE receiver_keys (
            key_id TEXT PRIMARY KEY, receiver TEXT NOT NULL, public_key TEXT NOT NULL,
            registered {real} NOT NULL)""",
        """CREATE TABLE login_addresses (
            address TEXT PRIMARY KEY, failures INTEGER NOT NULL,
            window_start {real} NOT NULL)""",
        """CREATE TABLE login_failures (
            username TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL,
            last {real} NOT NULL, PRIMARY KEY (username, address))""",
    ),
    # 5: bounded hostility (quarantine caps and counts, aggregated alerts) and evidence
    #    immutability (orphan chunks expire).
    (
        "ALTER TABLE alerts ADD COLUMN times BIGINT NOT NULL DEFAULT 1",
        "ALTER TABLE alerts ADD COLUMN last_raised {real}",
        "ALTER TABLE quarantine ADD COLUMN size BIGINT",
        """CREATE TABLE dropped (
            what TEXT PRIMARY KEY, count BIGINT NOT NULL DEFAULT 0,
            bytes BIGINT NOT NULL DEFAULT 0, last {real})""",
        "CREATE INDEX clips_state ON clips (state, updated)",
    ),
    # 6: ingest robustness and store integrity: no table needed (kept so versions stay in order).
    (),
    # 7: broker restarts (will times) and active/standby failover.
    (
        "ALTER TABLE nodes ADD COLUMN offline_since {real}",
        "ALTER TABLE nodes ADD COLUMN offline_cause TEXT",
        "ALTER TABLE nodes ADD COLUMN status_connected {real}",
    ),
    # 8: the alarm console. An occurrence is one thing from START to END (or one INSTANT),
    #    kept as its own row so the console lists occurrences, not messages; an incident
    #    groups occurrences (a door and a person within the node's correlation window) and
    #    carries the officers' workflow (new -> acknowledged -> in_progress -> closed) with
    #    its notes. Per-user language; sliding sessions.
    (
        "ALTER TABLE events ADD COLUMN occurrence TEXT",
        "CREATE INDEX events_occurrence ON events (site, node, occurrence)",
        """CREATE TABLE occurrences (
            seq {serial}, site TEXT NOT NULL, node TEXT NOT NULL, occurrence TEXT NOT NULL,
            incident TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
            camera TEXT, sensor TEXT, zones TEXT,
            first_event TEXT NOT NULL, last_event TEXT NOT NULL,
            first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
            started {real} NOT NULL, ended {real}, received {real} NOT NULL,
            is_open INTEGER NOT NULL, clip_id TEXT, snapshot_id TEXT,
            UNIQUE (site, node, occurrence))""",
        "CREATE INDEX occurrences_incident ON occurrences (site, incident, first_seq)",
        "CREATE INDEX occurrences_last ON occurrences (last_seq)",
        """CREATE TABLE incidents (
            seq {serial}, site TEXT NOT NULL, incident TEXT NOT NULL,
            severity TEXT NOT NULL, sev_rank INTEGER NOT NULL, kinds TEXT NOT NULL,
            nodes TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
            started {real} NOT NULL, last_time {real} NOT NULL, received {real} NOT NULL,
            occurrences INTEGER NOT NULL, open_occurrences INTEGER NOT NULL,
            status TEXT NOT NULL, acked_by TEXT, acked_at {real}, assignee TEXT,
            closed_by TEXT, closed_at {real}, outcome TEXT, report_no TEXT,
            updated {real} NOT NULL, UNIQUE (site, incident))""",
        "CREATE INDEX incidents_last ON incidents (last_seq)",
        "CREATE INDEX incidents_status ON incidents (status, sev_rank, last_seq)",
        "CREATE INDEX incidents_site ON incidents (site, last_seq)",
        """CREATE TABLE incident_notes (
            seq {serial}, site TEXT NOT NULL, incident TEXT NOT NULL,
            username TEXT NOT NULL, time {real} NOT NULL, action TEXT NOT NULL,
            text TEXT NOT NULL, audit_hash TEXT NOT NULL)""",
        "CREATE INDEX incident_notes_incident ON incident_notes (site, incident, seq)",
        "ALTER TABLE users ADD COLUMN lang TEXT",
        "ALTER TABLE sessions ADD COLUMN last_active {real}",
    ),
    # 9: an event keeps the signature it arrived with (the kid and sig user properties,
    #    checked at receipt), so its evidence bundle proves the event as well as the clip.
    (
        "ALTER TABLE events ADD COLUMN key_id TEXT",
        "ALTER TABLE events ADD COLUMN signature TEXT",
    ),
    # 10: the police access log. Every access to shared material is a record in the chain
    #    (ack_chain); access_log indexes those records for reads (seq is the chain's seq,
    #    the record itself stays the truth). A clip's Range requests (and a snapshot's
    #    repeated showings) of one viewing are kept in access_viewings, committed before a
    #    byte is served, and chained as one record when the viewing ends.
    (
        """CREATE TABLE access_log (
            seq BIGINT PRIMARY KEY, time {real} NOT NULL, username TEXT NOT NULL,
            action TEXT NOT NULL, type TEXT NOT NULL, item_id TEXT NOT NULL,
            site TEXT, node TEXT)""",
        "CREATE INDEX access_log_time ON access_log (time)",
        "CREATE INDEX access_log_user ON access_log (username, time)",
        "CREATE INDEX access_log_node ON access_log (site, node, time)",
        """CREATE TABLE access_viewings (
            seq {serial}, username TEXT NOT NULL, role TEXT NOT NULL, type TEXT NOT NULL,
            site TEXT NOT NULL, node TEXT NOT NULL, item_id TEXT, sha256 TEXT NOT NULL,
            viewing TEXT, started {real} NOT NULL, last {real} NOT NULL,
            requests INTEGER NOT NULL, ranges TEXT NOT NULL, size BIGINT)""",
        "CREATE INDEX access_viewings_item ON access_viewings (username, type, sha256, last)",
        "CREATE INDEX access_viewings_last ON access_viewings (last)",
    ),
    # 11: retention by agreement (edge/receiver/retention.py). A clip or snapshot deleted
    #    keeps its row (what it was, its sha256) with when (``deleted``) and by which chain
    #    record (``deleted_seq``); ``unlinked`` is 0 until its file is gone (a file that
    #    could not be removed is retried), 1 after. An incident on hold (``held``: since
    #    when, by whom, why) keeps its clips and snapshots.
    (
        "ALTER TABLE clips ADD COLUMN deleted {real}",
        "ALTER TABLE clips ADD COLUMN deleted_seq BIGINT",
        "ALTER TABLE clips ADD COLUMN unlinked INTEGER",
        "ALTER TABLE snapshots ADD COLUMN deleted {real}",
        "ALTER TABLE snapshots ADD COLUMN deleted_seq BIGINT",
        "ALTER TABLE snapshots ADD COLUMN unlinked INTEGER",
        "CREATE INDEX clips_unlinked ON clips (unlinked) WHERE unlinked = 0",
        "CREATE INDEX snapshots_unlinked ON snapshots (unlinked) WHERE unlinked = 0",
        "CREATE INDEX clips_retention ON clips (state, updated) WHERE deleted IS NULL",
        "CREATE INDEX snapshots_retention ON snapshots (received) WHERE deleted IS NULL",
        "ALTER TABLE incidents ADD COLUMN held {real}",
        "ALTER TABLE incidents ADD COLUMN held_by TEXT",
        "ALTER TABLE incidents ADD COLUMN hold_reason TEXT",
        "CREATE INDEX incidents_held ON incidents (site, incident) WHERE held IS NOT NULL",
    ),
)
"""Migration N (from 1) is MIGRATIONS[N-1]; append, never edit a released one."""

BACKFILLS: dict[int, Callable[[SqlCursor], None]] = {8: backfill}
"""Python steps run once, right after migration N's statements, in its transaction."""
