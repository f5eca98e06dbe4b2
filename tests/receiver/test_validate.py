"""The receiver's wire schema (``edge.receiver.validate``): what nodes send passes, each kind
of poison is refused naming the problem, and docs/mqtt.md states the same forms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge.bench.fleet import SimNode
from edge.core.ids import new_id
from edge.receiver import validate
from edge.receiver.messages import Reason
from edge.receiver.validate import Invalid
from edge.wire.ids import MessageId

DOCS = Path(__file__).resolve().parents[2] / "docs"
NODE = SimNode("semarang", "gudang-01")


def test_what_a_node_sends_passes() -> None:
    """A node's event, heartbeat and every form of message id fit the schema."""
    event = json.loads(NODE.event("person")[1])
    validate.event(validate.json_object(json.dumps(event).encode(), "event"), event["id"])
    validate.health(json.loads(NODE.heartbeat()[1]))
    clip = new_id()
    for mid in (MessageId.event(clip), MessageId.manifest(clip), MessageId.chunk_of(clip, 7),
                MessageId.snapshot(clip), MessageId.health(clip)):  # fmt: skip
        validate.properties({"id": str(mid), "kid": NODE.key.id})
    assert validate.UUID.fullmatch(clip) and validate.NAME.fullmatch("gudang-kpu-semarang-01")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (json.dumps({"a": 1}).encode("utf-16"), "not UTF-8"),
        (json.dumps({"a": 1}).encode("utf-32"), "not UTF-8"),
        (json.dumps({"a": 1}).encode("utf-8-sig"), "BOM"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),  # an encoded surrogate
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"a\\u0000": 1}', "NUL"),
        (b'{"a": NaN}', "not a JSON number"),
        (b"[1]", "not a JSON object"),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
        (b'{"a": "' + b"x" * (1 << 20) + b'"}', "over"),
        (b'{"a": 1' + b"1" * 5000 + b"}", "not JSON"),  # past Python's int digits limit
    ],
)
def test_json_poison_is_refused(payload: bytes, problem: str) -> None:
    """UTF-16/32 (json.loads would take them from bytes), a BOM, surrogates raw or escaped,
    NUL, NaN, a non-object, too deep, too big: Invalid, naming the problem."""
    with pytest.raises(Invalid, match=problem):
        validate.json_object(payload, "event")


@pytest.mark.parametrize(
    ("field", "value"),
    [("cpu_temp_c", "hot"), ("queue", [1]), ("cameras", ["a"]), ("reasons", "x"),
     ("cpu_temp_c", True), ("queue", {"police": {"alarm": "3"}}), ("audit_head", "zz"),
     ("disk_free_bytes", 1.5), ("clock_synced", "yes"), ("status", "x" * 300)],
)  # fmt: skip
def test_a_heartbeat_of_wrong_types_is_refused(field: str, value: object) -> None:
    """Each field the board reads must have its schema's type."""
    body = {**json.loads(NODE.heartbeat()[1]), field: value}
    with pytest.raises(Invalid, match=field):
        validate.health(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "Person!"), ("camera", 5), ("incident", "x" * 300), ("time", "a\nb"),
     ("zones", "lorong"), ("data", [])],
)  # fmt: skip
def test_an_event_of_wrong_types_is_refused(field: str, value: object) -> None:
    """Text fields stored in columns are bounded printable strings."""
    body = {**json.loads(NODE.event("person")[1]), field: value}
    with pytest.raises(Invalid, match=field):
        validate.event(body, body["id"])


def test_an_event_id_is_of_the_id_property_form() -> None:
    """Nodes make UUIDv7 event ids; any id of the ``id`` property's form is taken (slashes
    and dots too: the dashboard opens them), a space or an upper-case letter is not."""
    for good in ("2026/12/inc-7/a.1", "x/../y"):
        body = {**json.loads(NODE.event("person")[1]), "id": good}
        validate.event(body, good)
        validate.properties({"id": good})
    for bad in ("a b", "ABC"):
        with pytest.raises(Invalid, match="user property id"):
            validate.properties({"id": bad})


@pytest.mark.parametrize(
    ("key", "value"),
    [("id", "\u00b2"), ("id", ""), ("kid", "xyz"), ("sig", "a b"), ("id", "A" * 200)],
)
def test_odd_user_properties_are_refused(key: str, value: str) -> None:
    """id, kid and sig are bounded ASCII of their form."""
    with pytest.raises(Invalid, match=key):
        validate.properties({key: value})


def test_safe_text_escapes_what_no_store_takes() -> None:
    """NUL and lone surrogates become escapes; long text is cut."""
    assert validate.safe_text("a\x00b\ud800") == "a\\x00b\\ud800"
    assert validate.safe_text("x" * 2000, 10) == "x" * 10 + "..."
    assert validate.safe_text("plain") == "plain"


def test_the_docs_state_the_schema_and_every_reason() -> None:
    """docs/mqtt.md gives the forms the code checks; docs/receiver.md names every
    quarantine reason."""
    mqtt = (DOCS / "mqtt.md").read_text()
    for pattern in (validate.NAME, validate.CHUNK, validate.MESSAGE_ID, validate.KIND):
        assert f"`{pattern.pattern}`" in mqtt, pattern.pattern
    receiver = (DOCS / "receiver.md").read_text()
    table = receiver[receiver.index("| reason | when |") :]
    named = set(re.findall(r"`([a-z_]+)`", table[: table.index("\n\n")]))
    assert {str(r) for r in Reason} <= named, {str(r) for r in Reason} - named
