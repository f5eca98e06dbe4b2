"""Hypothesis strategies for what may reach a receiver: topics (the layout with odd levels,
or anything), payloads (bodies of events, heartbeats, manifests and statuses with fields of
any type and any text, surrogates and NUL included, in odd encodings; random bytes; deep;
huge) and user properties; some of them signed with an enrolled node's key so that they
pass every signature check and reach the store. :func:`travels` tells what MQTT and
mosquitto let through; the rest is fed to the receiver's checker and store directly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from edge.bench.fleet import SimNode
from edge.core.ids import new_id
from edge.evidence.manifest import sign_manifest

ANY_CHAR = st.characters(exclude_categories=())
"""Every code point: lone surrogates, NUL, controls and non-characters too."""
NASTY = st.one_of(
    st.text(ANY_CHAR, max_size=24),
    st.sampled_from(["", "\x00", "\ud800", "a\udfffb", "\u00b2", "\ufeff", "\u0661", "+", "#",
                     "/", "a/b", "..", "x" * 300, "\u202e", "\U0001f600", "'; DROP TABLE x"]),
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | NASTY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY, inner, max_size=4),
    max_leaves=10,
)


@dataclass(frozen=True)
class Message:
    """One PUBLISH: full topic, payload, user properties."""

    topic: str
    payload: bytes
    props: tuple[tuple[str, str], ...]


def _mqtt_text(s: str) -> bool:
    """Would MQTT (and mosquitto) carry *s* as a UTF-8 string: encodable, no NUL, no
    control characters, no non-characters, at most 65535 bytes."""
    try:
        size = len(s.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    if size > 65535:
        return False
    for c in s:
        o = ord(c)
        if o <= 0x1F or 0x7F <= o <= 0x9F or 0xFDD0 <= o <= 0xFDEF or (o & 0xFFFE) == 0xFFFE:
            return False
    return True


def travels(m: Message, prefix: str) -> bool:
    """Can *m* be published to a receiver subscribed to ``PREFIX/#`` (paho and mosquitto
    refuse wildcards, empty topics and bad UTF-8; other topics never reach it)?"""
    t = m.topic
    if not t.startswith(prefix + "/") or "+" in t or "#" in t or not _mqtt_text(t):
        return False
    return all(_mqtt_text(k) and _mqtt_text(v) for k, v in m.props)


def _body(node: SimNode, kind: str) -> dict[str, Any]:
    if kind == "event":
        event_id = new_id()
        return {"schema": "warehouse-edge/event/1", "id": event_id, "kind": "person",
                "severity": "alarm", "state": "start", "occurrence": event_id,
                "incident": None, "node": node.node, "site": node.site,
                "time": "2026-01-01T00:00:00Z", "clock_synced": True, "camera": "gudang-1",
                "sensor": None, "zones": ["lorong"], "data": {}}  # fmt: skip
    if kind == "health":
        body: dict[str, Any] = json.loads(node.heartbeat()[1])
        return body
    if kind == "manifest":
        clip_id = new_id()
        manifest = {"schema": "warehouse-edge/clip-manifest/1", "clip_id": clip_id,
                    "node": node.node, "site": node.site, "camera": "gudang-1", "size": 10,
                    "sha256": "0" * 64, "event_ids": []}  # fmt: skip
        return {**sign_manifest(manifest, node.key), "transfer": {"chunks": 1}}
    return {"state": "online"}


def _encode(body: object, how: str) -> bytes:
    text = json.dumps(body, ensure_ascii=how == "ascii")
    if how in ("ascii", "utf-8"):
        return text.encode("utf-8", "surrogatepass")
    return text.encode(how, "surrogatepass")


@st.composite
def payloads(draw: st.DrawFn, node: SimNode, kind: str) -> tuple[bytes, str]:
    """A payload for a message of *kind* and the id a node would sign it with."""
    shape = draw(st.sampled_from(["body", "body", "body", "json", "bytes", "deep", "huge"]))
    if shape == "bytes":
        return draw(st.binary(max_size=300)), new_id()
    if shape == "deep":
        n = draw(st.sampled_from([40, 1000, 100_000]))
        return b"[" * n + b"]" * n, new_id()
    if shape == "huge":
        size = draw(st.sampled_from([1 << 20, (1 << 20) + 10]))
        return b'{"a": "' + b"x" * (size - 9) + b'"}', new_id()
    body: Any = _body(node, kind) if shape == "body" else draw(JSON)
    if isinstance(body, dict):
        for key in draw(st.lists(st.sampled_from(sorted(body) or ["x"]), max_size=3)):
            body[key] = draw(JSON)
    how = draw(st.sampled_from(["ascii", "utf-8", "utf-16", "utf-32", "utf-8-sig"]))
    msg_id = body.get("id") if isinstance(body, dict) else None
    return _encode(body, how), msg_id if isinstance(msg_id, str) else new_id()


@st.composite
def messages(draw: st.DrawFn, node: SimNode, prefix: str) -> Message:
    """One message, maybe signed by *node*."""
    kind = draw(st.sampled_from(["event", "health", "status", "manifest", "chunk", "snapshot"]))
    ref = new_id() if draw(st.integers(0, 4)) else draw(NASTY)
    n = draw(st.sampled_from(["0", "12", "3", "\u00b2", "\u0661", "1234567", "-1"]))
    relative = {"event": "events", "health": "health", "status": "status",
                "manifest": f"clips/{ref}/manifest", "chunk": f"clips/{ref}/{n}",
                "snapshot": f"snapshots/{ref}"}[kind]  # fmt: skip
    if draw(st.integers(0, 19)) == 0:
        relative = draw(NASTY)
    site, name = node.site, node.node
    if draw(st.integers(0, 9)) == 0:
        site, name = draw(NASTY), draw(NASTY)
    top = prefix if draw(st.integers(0, 19)) else draw(NASTY)
    payload, msg_id = draw(payloads(node, kind)) if kind not in ("chunk", "snapshot") else (
        draw(st.binary(max_size=200)), new_id())  # fmt: skip
    if kind == "manifest":
        msg_id = f"{ref}/manifest"
    props: list[tuple[str, str]] = []
    if draw(st.integers(0, 3)):  # signed by the enrolled key: passes the signature checks
        try:
            props = list(SimNode(site, name, node.key)._wire(relative, msg_id, payload)[2])
        except (UnicodeEncodeError, ValueError):
            props = []
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        key = draw(st.one_of(st.sampled_from(["id", "kid", "sig", "kind"]), NASTY))
        props.append((key, draw(NASTY)))
    return Message(f"{top}/{site}/{name}/{relative}", payload, tuple(props))
