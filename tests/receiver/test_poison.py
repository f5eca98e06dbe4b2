"""One message must never stop the receiver (issue 20, findings 1 and 2): each poison class
seen is sent through a real mosquitto to a real receiver, on SQLite and PostgreSQL. Each is
quarantined with a reason and acknowledged; a valid signed event sent next is stored within
2 s; a restart (the persistent session redelivers whatever was not acknowledged) stores
the next one too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from poison import (
    assert_still_stores,
    config,
    event_body,
    publish_raw,
    quarantined,
    signed,
    signed_event,
    start,
    stored,
)
from rx import enrol, publisher
from timing import wait_until

from edge.bench.fleet import Publisher, SimNode
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.config import ReceiverConfig
from edge.wire import topics

pytestmark = pytest.mark.faults


@pytest.fixture(params=["sqlite", "postgresql"])
def cfg(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, request: pytest.FixtureRequest
) -> ReceiverConfig:
    """A receiver config on each engine, under this test's own topic prefix."""
    store = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    prefix = "px-" + "".join(c for c in tmp_path.name.lower() if c.isalnum())[-24:]
    return config(tmp_path, broker, ca, prefix, store)


@pytest.fixture
def pub(broker: LocalBroker, ca: DemoCA, cfg: ReceiverConfig) -> Iterator[Publisher]:
    """A publisher under the receiver's prefix."""
    p = publisher(broker, ca, cfg.broker.topic_prefix)
    yield p
    p.close()


NODE = SimNode("semarang", "gudang-01")


def test_a_superscript_chunk_number_is_quarantined_also_after_a_restart(
    cfg: ReceiverConfig, pub: Publisher
) -> None:
    """``clips/abc/²`` unsigned with QoS 1 (``"²".isdigit()`` but ``int("²")`` raises):
    quarantined as malformed, acknowledged, the next event stored. Sent again while the
    receiver is down, the persistent session hands it over at the restart: the same."""
    poison = f"{cfg.broker.topic_prefix}/anysite/anynode/clips/abc/\u00b2"
    r = start(cfg)
    try:
        enrol(r.store, NODE)
        publish_raw(pub, poison, b"x")
        assert wait_until(lambda: len(quarantined(r)) == 1, 5)
        assert quarantined(r)[0][0] == "malformed"
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()
    publish_raw(pub, poison, b"again")  # queued in the receiver's session while it is down
    r = start(cfg)
    try:
        assert wait_until(lambda: len(quarantined(r)) == 2, 5)
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()
    r = start(cfg)  # both were acknowledged: nothing comes back
    try:
        assert_still_stores(r, pub, NODE)
        assert len(quarantined(r)) == 2
    finally:
        r.stop()


def test_signed_text_poison_is_quarantined_and_the_next_event_stored(
    cfg: ReceiverConfig, pub: Publisher
) -> None:
    """Signed by the enrolled key, so every signature holds: a lone surrogate in an event's
    camera, a NUL in its camera, a UTF-16 JSON event, a UTF-32 one: each quarantined as
    malformed naming the problem, and the events after them are stored (21 after the NUL:
    PostgreSQL once retried that one forever and stored none)."""
    r = start(cfg)
    try:
        enrol(r.store, NODE)
        surrogate = event_body(NODE, camera="gudang-\ud800")
        nul = event_body(NODE, camera="a\x00b")
        utf16, utf32 = event_body(NODE), event_body(NODE)
        for body, payload in (
            (surrogate, json.dumps(surrogate).encode()),  # "\ud800" escaped: valid UTF-8
            (nul, json.dumps(nul).encode()),
            (utf16, json.dumps(utf16).encode("utf-16")),
            (utf32, json.dumps(utf32).encode("utf-32")),
        ):
            pub.publish(NODE, signed_event(NODE, payload, body["id"]))
        later = [NODE.event("person", n=i) for i in range(21)]
        for wire in later:
            pub.publish(NODE, wire)
        ids = [json.loads(w[1])["id"] for w in later]
        assert wait_until(lambda: all(stored(r, i) for i in ids), 5)
        assert wait_until(lambda: len(quarantined(r)) == 4, 5)
        details = [d for reason, d in quarantined(r) if reason == "malformed"]
        assert len(details) == 4
        assert sum("surrogate" in d for d in details) == 2, details  # NUL or lone surrogate
        assert sum("not UTF-8" in d for d in details) == 2, details
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()


def test_a_heartbeat_of_wrong_types_is_quarantined(cfg: ReceiverConfig, pub: Publisher) -> None:
    """``cpu_temp_c: "hot"``, ``queue: [...]``, ``cameras: [...]``, ``reasons: "x"``, each
    in a signed heartbeat: quarantined (naming the field), the node's good heartbeat
    stored, the board readable."""
    r = start(cfg)
    try:
        enrol(r.store, NODE)
        for field, value in (("cpu_temp_c", "hot"), ("queue", [1, 2]), ("cameras", ["a"]),
                             ("reasons", "x")):  # fmt: skip
            topic, payload, props = NODE.heartbeat(**{field: value})
            pub.publish(NODE, (topic, payload, props))
        assert wait_until(lambda: len(quarantined(r)) == 4, 5)
        details = " ".join(d for _, d in quarantined(r))
        for field in ("cpu_temp_c", "queue", "cameras", "reasons"):
            assert field in details, details
        pub.publish(NODE, NODE.heartbeat(cpu_temp_c=51.5))
        assert_still_stores(r, pub, NODE)
        from edge.receiver.store import reads

        board = reads.nodes(r.store.db)
        assert wait_until(lambda: reads.nodes(r.store.db)[0]["cpu_temp_c"] == 51.5, 3), board
    finally:
        r.stop()


def test_properties_paho_cannot_decode_are_quarantined_not_a_reconnect_loop(
    cfg: ReceiverConfig, pub: Publisher
) -> None:
    """A user property holding U+FEFF (valid MQTT, passed by mosquitto, refused by paho's
    decoder, which would drop the connection and get the same message again forever):
    quarantined as malformed and acknowledged; the next event is stored, also after a
    restart."""
    r = start(cfg)
    try:
        enrol(r.store, NODE)
        topic = f"{cfg.broker.topic_prefix}/{NODE.site}/{NODE.node}/{topics.EVENTS}"
        publish_raw(pub, topic, b"{}", [("id", "\ufeff".encode())])
        assert wait_until(lambda: len(quarantined(r)) == 1, 5)
        reason, detail = quarantined(r)[0]
        assert reason == "malformed" and "paho cannot decode" in detail, detail
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()
    r = start(cfg)
    try:
        assert_still_stores(r, pub, NODE)
        assert len(quarantined(r)) == 1
    finally:
        r.stop()


def test_odd_topic_levels_are_malformed(cfg: ReceiverConfig, pub: Publisher) -> None:
    """Topic levels outside the schema (a NUL-free but non-ASCII node, a clip id that is no
    UUID, a chunk number of seven digits, a snapshot id with a space) are quarantined; the
    receiver goes on."""
    r = start(cfg)
    try:
        enrol(r.store, NODE)
        p = cfg.broker.topic_prefix
        bad = [
            f"{p}/semarang/g\u00fcdang/events",
            f"{p}/semarang/gudang-01/clips/not-a-uuid/manifest",
            f"{p}/semarang/gudang-01/clips/{json.loads(NODE.event()[1])['id']}/1234567",
            f"{p}/semarang/gudang-01/snapshots/a b",
        ]
        for topic in bad:
            publish_raw(pub, topic, b"{}", [("id", "x"), ("kid", "0" * 16), ("sig", "AAAA")])
        assert wait_until(lambda: len(quarantined(r)) == 4, 5)
        assert {reason for reason, _ in quarantined(r)} <= {"malformed", "unknown_topic"}
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()


def test_a_signed_manifest_with_a_poisoned_field_is_refused(
    cfg: ReceiverConfig, pub: Publisher
) -> None:
    """A manifest signed twice over (message and evidence signature) whose sha256 is an
    object and whose camera holds a NUL: malformed, and the clip is not created."""
    from edge.evidence.manifest import sign_manifest

    r = start(cfg)
    try:
        enrol(r.store, NODE)
        clip_id = json.loads(NODE.event()[1])["id"]
        manifest = {"schema": "warehouse-edge/clip-manifest/1", "clip_id": clip_id,
                    "node": NODE.node, "site": NODE.site, "camera": "a\x00b", "size": 10,
                    "sha256": {"x": 1}, "event_ids": []}  # fmt: skip
        body = {**sign_manifest(manifest, NODE.key), "transfer": {"chunks": 1, "chunk_size": 10}}
        payload = json.dumps(body).encode()
        pub.publish(
            NODE, signed(NODE, topics.clip_manifest(clip_id), payload, f"{clip_id}/manifest")
        )
        assert wait_until(lambda: len(quarantined(r)) == 1, 5)
        assert quarantined(r)[0][0] == "malformed"
        assert r.store.db.query("SELECT COUNT(*) FROM clips")[0][0] == 0
        assert_still_stores(r, pub, NODE)
    finally:
        r.stop()
