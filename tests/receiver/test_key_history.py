"""The key history on its own: the enrolment rules in the store (both engines), the
migration of keys enrolled before it existed, the checker's ``expired_key``, and the
command line's refusals and listing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bench.fleet import SimNode
from edge.cli.main import main
from edge.receiver.keyring import Identity, Registry
from edge.receiver.messages import Accepted, Reason, Rejected
from edge.receiver.store import database, keys
from edge.receiver.store.schema import MIGRATIONS
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker

PREFIX = "warehouse"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(url: str, tmp_path: Path) -> Iterator[ReceiverStore]:
    """A store on each engine."""
    s = ReceiverStore(url, tmp_path / "rx")
    yield s
    s.close()


def test_enrolment_keeps_every_key_and_replaces_only_when_asked(store: ReceiverStore) -> None:
    """Same key again: nothing changes. Another key: refused without replace and without a
    reason; replaced with both (old key's validity ends when the new one's starts, audited).
    A replaced key, or a key of another node, is refused."""
    a, b = SimNode("semarang", "gudang-01"), SimNode("semarang", "gudang-01")
    first = store.enrol(a.site, a.node, a.key.pem, by="ani")
    assert first.action is keys.Action.ENROLLED and first.key.enrolled_by == "ani"
    assert store.enrol(a.site, a.node, a.key.pem).action is keys.Action.UNCHANGED
    with pytest.raises(keys.KeyRefused, match=f"already has key {a.key.id}.*--replace"):
        store.enrol(b.site, b.node, b.key.pem)
    with pytest.raises(keys.KeyRefused, match="needs a reason"):
        store.enrol(b.site, b.node, b.key.pem, replace=True)
    done = store.enrol(b.site, b.node, b.key.pem, replace=True, reason="new board", by="inspektur")
    assert done.action is keys.Action.REPLACED and done.old is not None
    assert done.old.key_id == a.key.id and done.old.valid_until == done.key.valid_from
    with pytest.raises(keys.KeyRefused, match="replaced key is never enrolled again"):
        store.enrol(a.site, a.node, a.key.pem, replace=True, reason="back")
    with pytest.raises(keys.KeyRefused, match="already enrolled for semarang/gudang-01"):
        store.enrol("solo", "gudang-09", a.key.pem)
    with pytest.raises(keys.KeyRefused, match="already enrolled for semarang/gudang-01"):
        store.enrol("solo", "gudang-09", b.key.pem)
    history = keys.history(store.db, a.site, a.node)
    assert [(k.key_id, k.valid_until is None) for k in history] == [
        (a.key.id, False), (b.key.id, True)
    ]  # fmt: skip
    assert history[0].replaced_by == b.key.id and history[1].reason == "new board"
    (audit,) = keys.replacements(store.db, a.site, a.node)
    assert (audit["old_key_id"], audit["new_key_id"], audit["username"], audit["reason"]) == (
        a.key.id, b.key.id, "inspektur", "new board"
    )  # fmt: skip
    assert store.db.query("SELECT key_id FROM nodes") == [(b.key.id,)]
    registry = Registry(store.identities())
    assert registry.current(a.site, a.node) == history[1]
    hit = registry.by_kid(a.key.id)
    assert hit is not None and hit[0].valid_until == done.key.valid_from


def test_keys_enrolled_before_the_history_are_migrated_into_it(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store at schema 2 with an enrolled node: opened now, the node's key is in the
    history (current, from its enrolment time) and can be replaced."""
    a, b = SimNode("semarang", "gudang-03"), SimNode("semarang", "gudang-03")
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:2])
    old = database.Database(url)
    with old.transaction() as cur:
        cur.execute(
            "INSERT INTO nodes (site, node, public_key, key_id, enrolled) VALUES (?, ?, ?, ?, ?)",
            (a.site, a.node, a.key.pem, a.key.id, 1000.0),
        )
    old.close()
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    store = ReceiverStore(url, tmp_path / "rx")
    try:
        (key,) = store.identities()
        assert (key.key_id, key.valid_from, key.valid_until) == (a.key.id, 1000.0, None)
        assert key.reason == "enrolled before key history was kept"
        done = store.enrol(b.site, b.node, b.key.pem, replace=True, reason="rotation")
        assert done.old is not None and done.old.key_id == a.key.id
    finally:
        store.close()


def _check(registry: Registry, node: SimNode, signer: SimNode) -> Accepted | Rejected:
    topic, payload, props = signer.event("person")
    checker = Checker(registry, PREFIX, max_clip_bytes=1 << 20)
    return checker.check(f"{PREFIX}/{node.site}/{node.node}/{topic}", payload, dict(props))


def test_a_message_is_checked_with_the_key_valid_when_it_arrives() -> None:
    """A key whose validity ended before the message arrived: ``expired_key``, saying when
    and by which key it was replaced; a key still valid (its end in the future) and the
    new key: accepted; a key in no enrolment: ``unknown_key``."""
    a, b, stranger = (SimNode("semarang", "gudang-01") for _ in range(3))
    ended = time.time() - 5
    old = Identity(a.node, a.site, a.key.pem, ended - 100, ended, "ani", "first", b.key.id)
    new = Identity(b.node, b.site, b.key.pem, ended, None, "ani", "new board")
    registry = Registry([old, new])
    v = _check(registry, a, a)
    assert isinstance(v, Rejected) and v.reason is Reason.EXPIRED_KEY
    assert f"key {a.key.id}" in v.detail and f"replaced by {b.key.id}" in v.detail
    assert isinstance(_check(registry, a, b), Accepted)
    later = Identity(a.node, a.site, a.key.pem, ended - 100, time.time() + 60)
    assert isinstance(_check(Registry([later]), a, a), Accepted)
    v = _check(registry, a, stranger)
    assert isinstance(v, Rejected) and v.reason is Reason.UNKNOWN_KEY
    assert [i.key_id for i in registry.keys(a.site, a.node)] == [a.key.id, b.key.id]


def _conf(tmp_path: Path) -> Path:
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "polda-keys"\ndata_dir = "{tmp_path / "rx"}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    return conf


def test_the_command_line_refuses_what_the_history_does_not_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--replace without --reason: exit 2; --replace of a node never enrolled: exit 1; a
    file that is no key: exit 1, one line naming it; ``keys`` lists keys and replacements
    (``--by`` recorded)."""
    conf = _conf(tmp_path)
    a, b = SimNode("semarang", "gudang-05"), SimNode("semarang", "gudang-05")
    pa, pb, junk = tmp_path / "a.pem", tmp_path / "b.pem", tmp_path / "junk.pem"
    pa.write_text(a.key.pem)
    pb.write_text(b.key.pem)
    junk.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    rx = ["receive", "-c", str(conf)]
    assert main([*rx, "enrol", "semarang/gudang-05", str(pa), "--replace"]) == 2
    assert "--replace needs --reason" in capsys.readouterr().err
    assert main([*rx, "enrol", "semarang/gudang-05", str(pa), "--replace", "--reason", "x"]) == 1
    assert "is not enrolled: nothing to replace" in capsys.readouterr().err
    assert main([*rx, "enrol", "semarang/gudang-05", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{junk}: ") and len(err.strip().splitlines()) == 1
    assert main([*rx, "enrol", "semarang/gudang-05", str(pa)]) == 0
    args = ["enrol", "semarang/gudang-05", str(pb), "--replace", "--reason", "rotation"]
    assert main([*rx, *args, "--by", "inspektur"]) == 0
    capsys.readouterr()
    assert main([*rx, "keys", "semarang/gudang-05"]) == 0
    table = capsys.readouterr().out
    assert a.key.id in table and b.key.id in table
    assert f"replaced {a.key.id} by {b.key.id}" in table and "by inspektur: rotation" in table
    assert main([*rx, "keys", "semarang/gudang-05", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["key_id"] for k in listed["keys"]] == [a.key.id, b.key.id]
    assert listed["keys"][0]["valid_until"] == listed["keys"][1]["valid_from"]
    assert listed["replacements"][0]["username"] == "inspektur"
    assert main([*rx, "keys", "semarang/nobody"]) == 1
