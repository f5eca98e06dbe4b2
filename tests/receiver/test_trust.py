"""The receiver believes only what the enrolled key of the topic's node signed."""

from __future__ import annotations

import json
from pathlib import Path

from edge.bench.fleet import SimNode, Wire
from edge.receiver.messages import Accepted, Part, Reason, Rejected, Verdict
from edge.receiver.trust import Checker, Identity, Registry

PREFIX = "warehouse"


def _checker(*nodes: SimNode) -> Checker:
    reg = Registry(Identity(n.node, n.site, n.key.pem) for n in nodes)
    return Checker(reg, PREFIX, max_clip_bytes=1 << 20)


def _check(
    checker: Checker, node: SimNode, wire: Wire, *, as_node: SimNode | None = None
) -> Verdict:
    topic, payload, props = wire
    who = as_node or node
    return checker.check(f"{PREFIX}/{who.site}/{who.node}/{topic}", payload, dict(props))


def test_a_signed_event_of_an_enrolled_node_is_accepted() -> None:
    """A node's own signed event on its own topic passes, parsed."""
    a = SimNode("semarang", "gudang-01")
    v = _check(_checker(a), a, a.event("person"))
    assert isinstance(v, Accepted)
    assert v.part is Part.EVENT and v.data["kind"] == "person" and v.node == "gudang-01"


def test_an_event_signed_by_another_key_is_rejected() -> None:
    """A forged event (right topic, a key that is not the node's) is a bad signature."""
    a = SimNode("semarang", "gudang-01")
    forger = SimNode("semarang", "gudang-01")  # same names, its own key
    v = _check(_checker(a), a, forger.event("person"))
    assert isinstance(v, Rejected) and v.reason is Reason.UNKNOWN_KEY


def test_a_changed_payload_breaks_the_signature() -> None:
    """Editing an event after signing (the key id kept) is a bad signature."""
    a = SimNode("semarang", "gudang-01")
    topic, payload, props = a.event("person")
    body = json.loads(payload)
    body["kind"] = "door_open"
    v = _check(_checker(a), a, (topic, json.dumps(body).encode(), props))
    assert isinstance(v, Rejected) and v.reason is Reason.BAD_SIGNATURE


def test_a_message_on_another_nodes_topic_is_rejected() -> None:
    """Node B's signed message published under node A's topic: topic mismatch."""
    a, b = SimNode("semarang", "gudang-01"), SimNode("semarang", "gudang-02")
    v = _check(_checker(a, b), b, b.event("person"), as_node=a)
    assert isinstance(v, Rejected) and v.reason is Reason.TOPIC_MISMATCH and v.node == "gudang-01"


def test_an_unenrolled_node_is_rejected() -> None:
    """A well-signed message from a node nobody enrolled: unknown node."""
    a, stranger = SimNode("semarang", "gudang-01"), SimNode("solo", "gudang-99")
    v = _check(_checker(a), stranger, stranger.heartbeat())
    assert isinstance(v, Rejected) and v.reason is Reason.UNKNOWN_NODE


def test_unsigned_and_unknown_topics_are_rejected() -> None:
    """No signature properties, or a topic outside the layout, are quarantined."""
    a = SimNode("semarang", "gudang-01")
    c = _checker(a)
    topic, payload, props = a.event()
    unsigned = tuple(p for p in props if p[0] not in ("sig", "kid"))
    v1 = _check(c, a, (topic, payload, unsigned))
    v2 = c.check("elsewhere/x", payload, dict(props))
    v3 = _check(c, a, ("events/extra/levels", payload, props))
    assert isinstance(v1, Rejected) and v1.reason is Reason.UNSIGNED
    assert isinstance(v2, Rejected) and v2.reason is Reason.UNKNOWN_TOPIC
    assert isinstance(v3, Rejected) and v3.reason is Reason.UNKNOWN_TOPIC


def test_a_tampered_chunk_is_rejected(tmp_path: Path) -> None:
    """One byte changed in a clip chunk breaks its signature; the untouched ones pass."""
    a = SimNode("semarang", "gudang-01")
    clip = tmp_path / "c.mp4"
    clip.write_bytes(bytes(range(256)) * 1000)
    wires = a.clip(clip, chunk_size=100_000)
    c = _checker(a)
    assert all(isinstance(_check(c, a, w), Accepted) for w in wires)
    topic, payload, props = wires[2]
    bad = bytearray(payload)
    bad[10] ^= 1
    v = _check(c, a, (topic, bytes(bad), props))
    assert isinstance(v, Rejected) and v.reason is Reason.BAD_SIGNATURE


def test_a_manifest_claiming_too_much_is_rejected(tmp_path: Path) -> None:
    """A signed manifest over the receiver's size limit is refused before any chunk."""
    a = SimNode("semarang", "gudang-01")
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"x" * 2_000_000)
    manifest = a.clip(clip, chunk_size=1_000_000)[0]
    v = _check(_checker(a), a, manifest)
    assert isinstance(v, Rejected) and v.reason is Reason.TOO_LARGE


def test_status_of_an_enrolled_node_needs_no_signature() -> None:
    """The retained status (the broker's last will among them) is taken unsigned, but only
    for an enrolled node and only in its one form."""
    a = SimNode("semarang", "gudang-01")
    c = _checker(a)
    ok = c.check(f"{PREFIX}/semarang/gudang-01/status", b'{"state":"offline"}', {})
    odd = c.check(f"{PREFIX}/semarang/gudang-01/status", b'{"state":"on fire"}', {})
    stranger = c.check(f"{PREFIX}/solo/x/status", b'{"state":"online"}', {})
    assert isinstance(ok, Accepted) and ok.data["state"] == "offline"
    assert isinstance(odd, Rejected) and odd.reason is Reason.MALFORMED
    assert isinstance(stranger, Rejected) and stranger.reason is Reason.UNKNOWN_NODE


def test_signed_garbage_is_malformed_not_a_crash() -> None:
    """A node's key over bytes that are no JSON object (binary, nested 100,000 deep, a list)
    gives a malformed verdict, never an exception."""
    from edge.evidence.signing import SignedFields, message_properties, payload_sha256

    a = SimNode("semarang", "gudang-01")
    c = _checker(a)
    for junk in (b"\xff\xfe\x00", b"[" * 100_000, b"[1, 2]"):
        fields = SignedFields(a.site, a.node, "events", "e1", payload_sha256(junk))
        props = (("id", "e1"), *message_properties(fields, a.key))
        v = _check(c, a, ("events", junk, props))
        assert isinstance(v, Rejected) and v.reason is Reason.MALFORMED, junk[:10]
