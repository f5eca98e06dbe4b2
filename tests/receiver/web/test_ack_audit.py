"""The acknowledgement audit tried as an attacker who can write the store but holds no
receiver key: an edited, inserted or deleted ack row, an edited, inserted or deleted chain
record, and a cut chain (with the head row left, rewritten, or replaced by an older
checkpoint's signature) are each reported by ``edge receive audit verify`` (exit 1, a line
naming the row or record) and by ``/admin``; an intact chain verifies, also with the
receiver's key pinned, and its export passes the node's ``edge audit verify``. On SQLite and
PostgreSQL."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dash import Fleet, add_user, client_for, login
from starlette.exceptions import HTTPException
from starlette.testclient import TestClient

from edge.cli.main import main
from edge.evidence.chain import record_hash
from edge.evidence.keys import public_pem
from edge.receiver.ackaudit.records import SignedHead, make_record, record_text
from edge.receiver.config import ReceiverConfig, loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.acks import Acks


def receiver_toml(data: Path, store: str, name: str = "polda-test") -> str:
    """A receiver config on *store* (``sqlite`` or a PostgreSQL URL); no broker is used."""
    return (
        f'[receiver]\nname = "{name}"\ndata_dir = "{data}"\nstore = "{store}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )


@dataclass
class Acked:
    """A store with three acknowledged events (and a fourth not acknowledged), an admin
    logged in on its dashboard, and its config file."""

    conf: Path
    cfg: ReceiverConfig
    store: ReceiverStore
    fleet: Fleet
    events: list[str]
    admin: TestClient
    acks: Acks

    def sql(self, text: str, params: tuple[object, ...] = ()) -> None:
        """One statement as the attacker runs it."""
        with self.store.db.transaction() as cur:
            cur.execute(text, params)

    def record(self, seq: int) -> dict[str, object]:
        """The chain record *seq* as stored."""
        rows = self.store.db.query("SELECT record FROM ack_chain WHERE seq = ?", (seq,))
        return dict(json.loads(rows[0][0]))


@pytest.fixture(params=["sqlite", "postgresql"])
def acked(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Acked]:
    """Chain: 1 key_init, 2 ack, 3 checkpoint, 4 ack, 5 ack, 6 checkpoint (every 2)."""
    store_url = "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", store_url))
    cfg = loads(conf.read_text())
    store = ReceiverStore(cfg.store_url, cfg.data_dir)
    try:
        fleet = Fleet(store)
        events = [fleet.event() for _ in range(4)]
        add_user(store, "root", "admin")
        with client_for(cfg, store) as c:
            acks = c.app.state.dashboard.acks  # type: ignore[attr-defined]
            acks.checkpoint_every = 2
            for n, event in enumerate(events[:3]):
                acks.acknowledge(fleet.node.site, fleet.node.node, event, "budi", f"checked {n}")
            assert login(c, "root").status_code == 303
            yield Acked(conf, cfg, store, fleet, events, c, acks)
    finally:
        store.close()


def verify(a: Acked, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    """``edge receive -c CONF audit verify [EXTRA]``: exit status, stdout, stderr."""
    code = main(["receive", "-c", str(a.conf), "audit", "verify", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_intact_chain_verifies_pinned_and_exported(
    acked: Acked, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Untouched: exit 0 and /admin ok; pinned to the receiver's own key (``audit key``) it
    still verifies, pinned to another key it does not; the export passes ``edge audit
    verify`` with that key and the head."""
    code, out, err = verify(acked, capsys)
    assert code == 0 and not err, err
    assert "OK, 6 records, 3 acknowledgements, 2 checkpoints, head seq 6" in out
    assert "ok: 6 catatan, 3 pengakuan" in acked.admin.get("/admin").text
    assert main(["receive", "-c", str(acked.conf), "audit", "key"]) == 0
    pem = tmp_path / "rx.pem"
    pem.write_text(capsys.readouterr().out)
    assert verify(acked, capsys, "--public-key", str(pem))[0] == 0
    other = tmp_path / "other.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    code, _, err = verify(acked, capsys, "--public-key", str(other))
    assert code == 1 and "signed head (seq 6): signed by key" in err
    assert "chain record seq 3: checkpoint signed by key" in err
    export = tmp_path / "acks.log"
    assert main(["receive", "-c", str(acked.conf), "audit", "export", str(export)]) == 0
    head = capsys.readouterr().out.split("head seq 6 ")[1].split()[0]
    assert main(["audit", "verify", str(export), "--public-key", str(pem), "--head", head]) == 0
    assert "OK, 6 records" in capsys.readouterr().out


def _edit_row(a: Acked) -> None:
    a.sql("UPDATE acks SET username = 'mallory', note = 'never looked' WHERE event_id = ?",
          (a.events[1],))  # fmt: skip


def _insert_row(a: Acked) -> None:
    a.sql("INSERT INTO acks (site, node, event_id, username, note, time, audit_hash)"
          " SELECT site, node, ?, 'budi', 'fake', time, audit_hash FROM acks WHERE event_id = ?",
          (a.events[3], a.events[0]))  # fmt: skip


def _delete_row(a: Acked) -> None:
    a.sql("DELETE FROM acks WHERE event_id = ?", (a.events[1],))


def _edit_record(a: Acked) -> None:
    rec = a.record(4)
    rec["note"] = "forged"
    a.sql("UPDATE ack_chain SET record = ? WHERE seq = 4", (record_text(rec),))


def _edit_record_rehashed(a: Acked) -> None:
    rec = a.record(4)
    rec["note"] = "forged"
    rec["hash"] = record_hash(rec)
    a.sql(
        "UPDATE ack_chain SET record = ?, hash = ? WHERE seq = 4", (record_text(rec), rec["hash"])
    )
    a.sql("UPDATE acks SET note = 'forged', audit_hash = ? WHERE event_id = ?",
          (rec["hash"], a.events[1]))  # fmt: skip


def _insert_record(a: Acked) -> None:
    last = a.record(6)
    site, node, event = a.fleet.node.site, a.fleet.node.node, a.events[3]
    rec = make_record(7, str(last["hash"]), "acknowledge", kind="event", item_id=event,
                      sha256="0" * 64, site=site, node=node, user="budi", note="fake")  # fmt: skip
    a.sql("INSERT INTO ack_chain (seq, hash, action, record) VALUES (7, ?, 'acknowledge', ?)",
          (rec["hash"], record_text(rec)))  # fmt: skip
    a.sql("INSERT INTO acks (site, node, event_id, username, note, time, audit_hash)"
          " VALUES (?, ?, ?, 'budi', 'fake', ?, ?)",
          (site, node, event, rec["time"], rec["hash"]))  # fmt: skip


def _delete_record(a: Acked) -> None:
    a.sql("DELETE FROM ack_chain WHERE seq = 2")


def _cut_head_kept(a: Acked) -> None:
    a.sql("DELETE FROM ack_chain WHERE seq = 6")


def _cut_head_rewritten(a: Acked) -> None:
    """The last acknowledgement and everything after it gone, row included; the head row
    made to point at the new end (without the key, its signature stays the old one)."""
    a.sql("DELETE FROM ack_chain WHERE seq >= 5")
    a.sql("DELETE FROM acks WHERE event_id = ?", (a.events[2],))
    a.sql("UPDATE ack_chain_head SET seq = 4, hash = ? WHERE one = 1", (a.record(4)["hash"],))


def _cut_to_a_checkpoint(a: Acked) -> None:
    """Cut back to seq 2 and sign the head with the checkpoint at seq 3's signature (over
    seq 2): a checkpoint's signature cannot stand in for the head's."""
    cp = a.record(3)
    a.sql("DELETE FROM ack_chain WHERE seq >= 3")
    a.sql("DELETE FROM acks WHERE event_id IN (?, ?)", (a.events[1], a.events[2]))
    a.sql("UPDATE ack_chain_head SET seq = 2, hash = ?, time = ?, signature = ? WHERE one = 1",
          (cp["head"], cp["time"], cp["signature"]))  # fmt: skip


TAMPERS: dict[str, tuple[Callable[[Acked], None], str]] = {
    "edited row": (_edit_row, "name, note differ from chain record seq 4 (edited)"),
    "inserted row": (_insert_row, "by budi): no chain record (inserted"),
    "deleted row": (_delete_row, "chain record seq 4 (acknowledgement of"),
    "edited record": (_edit_record, "chain record seq 4: altered"),
    "edited record, hashes redone": (_edit_record_rehashed, "chain record seq 5: does not follow"),
    "inserted record": (_insert_record, "records 7..7 come after the signed head"),
    "deleted record": (_delete_record, "chain record seq 3: the sequence jumps from 1 to 3"),
    "cut, head kept": (_cut_head_kept, "the chain ends at seq 5: records 6..6 were cut"),
    "cut, head rewritten": (_cut_head_rewritten, "signed head (seq 4): the signature does not"),
    "cut, checkpoint as head": (_cut_to_a_checkpoint, "signed head (seq 2): the signature does"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_each_tampering_is_reported_by_the_cli_and_admin(
    acked: Acked, capsys: pytest.CaptureFixture[str], tamper: str
) -> None:
    """After the tampering, ``audit verify`` exits 1 with a line naming the row or record
    (each problem one line on stderr), and ``/admin`` says damaged with the same line."""
    change, expected = TAMPERS[tamper]
    change(acked)
    code, out, err = verify(acked, capsys)
    assert code == 1 and not out, (out, err)
    lines = err.strip().splitlines()
    assert any(expected in line for line in lines), err
    assert lines[-1].startswith("acknowledgement audit: DAMAGED")
    assert all(line.startswith("audit: ") for line in lines[:-1]), err
    page = html.unescape(acked.admin.get("/admin").text)
    assert "damaged: " in page and 'id="audit-problems"' in page
    assert expected in page, page


@pytest.mark.parametrize("tamper", ["cut, head kept", "cut, head rewritten", "inserted record"])
def test_a_chain_off_its_signed_head_takes_no_new_acknowledgement(
    acked: Acked, tamper: str
) -> None:
    """Nothing is appended to a chain that does not end at its signed head: the
    acknowledgement is refused (409, naming why) and no row is written."""
    TAMPERS[tamper][0](acked)
    before = acked.store.db.query("SELECT COUNT(*) FROM acks")[0][0]
    site, node = acked.fleet.node.site, acked.fleet.node.node
    event = acked.fleet.event()
    with pytest.raises(HTTPException) as refused:
        acked.acks.acknowledge(site, node, event, "budi", "after the tampering")
    assert refused.value.status_code == 409 and "signed head" in str(refused.value.detail)
    assert acked.store.db.query("SELECT COUNT(*) FROM acks")[0][0] == before


def test_the_head_kept_in_the_data_directory_catches_a_rollback(
    acked: Acked, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store rolled back whole to an earlier, validly signed state (chain, rows and the
    head row as they were after the first acknowledgement, kept by the attacker) passes
    every check inside the store, but not the head this receiver kept in its data
    directory."""
    old_head = SignedHead.sign(3, str(acked.record(3)["hash"]), acked.acks.key())
    acked.sql("DELETE FROM ack_chain WHERE seq >= 4")
    acked.sql("DELETE FROM acks WHERE event_id IN (?, ?)", (acked.events[1], acked.events[2]))
    acked.sql("UPDATE ack_chain_head SET seq = 3, hash = ?, time = ?, signature = ?"
              " WHERE one = 1", (old_head.hash, old_head.time, old_head.signature))  # fmt: skip
    code, _, err = verify(acked, capsys)
    assert code == 1 and "receiver-polda-test.head: the head this receiver signed (seq 6)" in err
    assert len(err.strip().splitlines()) == 2, err
