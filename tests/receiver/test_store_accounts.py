"""The dashboard's rows in the store (edge.receiver.store.accounts and .acks) on SQLite and
PostgreSQL, through the classes the dashboard uses: a user added, replaced, listed, its role
and language; login attempts recorded; a session created, found, renewed and ended; an
acknowledgement stored once."""

from __future__ import annotations

import time

from consolestores import shared_store

from edge.core.ids import new_id
from edge.receiver.store import accounts, acks
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import i18n
from edge.receiver.web.sessions import Sessions
from edge.receiver.web.users import Role, Users

__all__ = ["shared_store"]


def _name() -> str:
    """A user name no other test uses."""
    return f"u{new_id()[-12:].lower()}"


def test_users_logins_and_languages(shared_store: ReceiverStore) -> None:
    """Add, replace, list, role, login record and language behave as the dashboard needs."""
    users, name = Users(shared_store.db), _name()
    users.add(name, "viewer", "first password")
    users.add(name, "officer", "second password", replace=True)
    assert users.role_of(name) is Role.OFFICER and users.role_of(_name()) is None
    listed = {u["name"]: u for u in users.all()}
    assert listed[name]["role"] == "officer" and "password" not in listed[name]
    assert name in accounts.user_names(shared_store.db)
    assert users.login(name, "second password", "10.0.0.1").user == name
    assert users.login(name, "wrong password", "10.0.0.1").reason == "wrong password"
    mine = [r for r in users.logins(500) if r["username"] == name]
    assert [r["detail"] for r in mine] == ["wrong password", "ok"]  # newest first
    assert i18n.user_lang(shared_store.db, name) is None
    assert i18n.set_user_lang(shared_store.db, name, "id")
    assert i18n.user_lang(shared_store.db, name) == "id"
    assert not i18n.set_user_lang(shared_store.db, _name(), "en")


def test_session_lifecycle(shared_store: ReceiverStore) -> None:
    """A session is found by its token, renewed forward only, gone after logout or its end,
    and gone when its user is."""
    now = [time.time()]
    users, name = Users(shared_store.db), _name()
    users.add(name, "admin", "a password!")
    sessions = Sessions(shared_store.db, lifetime_s=60, idle_s=60, max_s=300, clock=lambda: now[0])
    token = sessions.create(name)
    first = sessions.get(token)
    assert first is not None and first.user == name and first.role is Role.ADMIN
    now[0] += 30
    renewed = sessions.renew(token)
    assert renewed is not None and renewed.expires > first.expires
    assert sessions.get("not-a-token") is None and sessions.renew("not-a-token") is None
    sessions.delete(token)
    assert sessions.get(token) is None
    late = sessions.create(name)
    now[0] += 61
    assert sessions.get(late) is None and sessions.renew(late) is None


def test_acknowledgement_rows(shared_store: ReceiverStore) -> None:
    """An acknowledgement is stored once with its note, time and chain hash."""
    key = ("s" + new_id()[-8:], "n1", new_id())
    db = shared_store.db
    assert acks.ack_of(db, *key) is None
    with db.transaction() as cur:
        assert not acks.acked(cur, *key)
        acks.put_ack(cur, key, "officer", "seen it", when=12.5, audit_hash="ab" * 32)
        assert acks.acked(cur, *key)
    assert acks.ack_of(db, *key) == {
        "username": "officer", "note": "seen it", "time": 12.5, "audit_hash": "ab" * 32,
    }  # fmt: skip
