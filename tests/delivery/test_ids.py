"""Outbox message ids: typed, and the string form receivers deduplicate by is unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.ids import new_id
from edge.wire.ids import MessageId, Part

IDS = st.from_regex(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fullmatch=True)


@given(ref=IDS, n=st.integers(min_value=0, max_value=99_999))
def test_every_id_survives_the_round_trip(ref: str, n: int) -> None:
    """str() then parse() gives the same id, for every kind of message."""
    for mid in (
        MessageId.event(ref),
        MessageId.manifest(ref),
        MessageId.chunk_of(ref, n),
        MessageId.snapshot(ref),
        MessageId.health(ref),
    ):
        assert MessageId.parse(str(mid)) == mid


def test_wire_forms_are_the_documented_ones() -> None:
    """The string forms are those of docs/mqtt.md (receivers already deduplicate by them)."""
    clip = new_id()
    assert str(MessageId.manifest(clip)) == f"{clip}/manifest"
    assert str(MessageId.chunk_of(clip, 7)) == f"{clip}/00007"
    assert str(MessageId.snapshot("s1")) == "snapshot/s1"
    assert str(MessageId.health("h1")) == "health/h1"
    assert str(MessageId.event("e1")) == "e1"


def test_chunks_sort_in_sending_order_and_share_the_clip_prefix() -> None:
    """Chunk ids sort in sending order (zero-padded) under the clip's prefix."""
    clip = new_id()
    ids = [str(MessageId.chunk_of(clip, n)) for n in (0, 1, 2, 10, 100)]
    assert ids == sorted(ids)
    assert all(i.startswith(MessageId.clip_prefix(clip)) for i in ids)
    assert MessageId.parse(ids[3]).clip_id == clip
    assert MessageId.parse(ids[3]).part is Part.CHUNK and MessageId.parse(ids[3]).chunk == 10


def test_only_clip_messages_have_a_clip() -> None:
    """Events, snapshots and heartbeats belong to no clip."""
    assert MessageId.event("e").clip_id is None
    assert MessageId.snapshot("s").clip_id is None
    assert MessageId.manifest("c").clip_id == "c"


def test_a_malformed_id_is_named() -> None:
    """An id of no known form raises, naming it."""
    with pytest.raises(ValueError, match="abc/def"):
        MessageId.parse("abc/def")
