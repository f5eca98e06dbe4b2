"""The store's small lookups (edge.receiver.store.lookups) on SQLite and PostgreSQL: an
event's incident and its workflow state, a stored message's hash, what is absent reads as
None, chain records asked for twice come once, and open alerts of no kind are none."""

from __future__ import annotations

import time

from consolestores import shared_store

from edge.bench.console import event
from edge.core.ids import new_id
from edge.receiver.store import lookups
from edge.receiver.store.store import ReceiverStore

__all__ = ["shared_store"]


def test_an_events_incident_and_what_is_absent(shared_store: ReceiverStore) -> None:
    """The event's incident is found through its occurrence, with its workflow state; a
    clip, a snapshot, a chain record or a key that is not there reads as None or empty."""
    store, site, incident = shared_store, f"k{new_id()[-10:]}", new_id()
    alarm = event(site, "n1", "person", "alarm", "instant", when=time.time() - 60,
                  incident=incident)  # fmt: skip
    store.commit([alarm])
    found = lookups.event_incident(store.db, site, "n1", alarm.id)
    assert found is not None and found["incident"] == incident and found["status"] == "new"
    assert lookups.incident_of_event(store.db, site, "n1", alarm.id) == incident
    state = lookups.workflow_state(store.db, site, incident)
    assert state is not None and state["status"] == "new" and state["acked_by"] is None
    assert lookups.seen_sha256(store.db, site, "n1", alarm.id) == alarm.sha256
    rows = lookups.incident_events(store.db, site, incident, ("id", "kind"), 10)
    assert [(r["id"], r["kind"]) for r in rows] == [(alarm.id, "person")]
    assert lookups.event_clip_id(store.db, site, "n1", alarm.id) is None
    assert lookups.event_incident(store.db, site, "n1", new_id()) is None
    assert lookups.workflow_state(store.db, site, new_id()) is None
    assert lookups.clip_state(store.db, site, "n1", new_id()) is None
    assert lookups.clip_envelope(store.db, site, "n1", new_id()) is None
    assert lookups.media_id(store.db, "clip", site, "n1", "0" * 64) is None
    assert lookups.node_public_keys(store.db, site, "n1") == []
    assert lookups.chain_records(store.db, []) == []
    assert lookups.chain_records(store.db, ["f" * 64, "f" * 64]) == []  # asked twice: once
    assert lookups.open_alerts_of(store.db, []) == []
