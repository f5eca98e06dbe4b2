"""The police access log read back and exported: ``edge receive access`` lists an
officer's accesses (filtered by user and node); ``access export`` writes a signed bundle
(export.json, chain.jsonl ending at a signed checkpoint, a bilingual export.html in WIB,
SIGNATURE.json) that verifies offline with only the receiver's public key; an access
record removed or edited (in the bundle, re-signed with another key, or in the store before
the export) is caught. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casefile import CLIP, Case, logged_in, make_case
from pg import PgServer

from edge.cli.main import main
from edge.evidence.bundle import sign_bundle
from edge.evidence.chain import record_hash
from edge.evidence.keys import NodeKey, public_pem
from edge.receiver.access.verify import verify_export
from edge.receiver.ackaudit.local import load_or_create_key
from edge.receiver.store.store import ReceiverStore

CLIP_SHA = hashlib.sha256(CLIP).hexdigest()


@dataclass
class Exported:
    """A receiver where budi viewed an alert, its snapshot and clip, and downloaded its
    evidence, and siti viewed the alert; its export of the day; the receiver's public key."""

    conf: Path
    store: ReceiverStore
    case: Case
    out: Path
    pem: Path
    work: Path

    def copy(self, name: str) -> Path:
        """A copy of the export to tamper with."""
        return Path(shutil.copytree(self.out, self.work / name))


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def exported(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Exported]:
    """The receiver and its export, once per engine for the module."""
    work = tmp_path_factory.mktemp("access-export")
    data = work / "rx"
    server: PgServer | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'receiver.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        url = server.new_database("access_export")
    conf = work / "receiver.toml"
    where = "sqlite" if url.startswith("sqlite") else url
    conf.write_text(f'[receiver]\nname = "polda-test"\ndata_dir = "{data}"\nstore = "{where}"\n'
                    '[broker]\nhost = "localhost"\nallow_insecure = true\n')  # fmt: skip
    store = ReceiverStore(url, data)
    try:
        case = make_case(store, work)
        person = case.ids["person"]
        snap = str(store.db.query("SELECT sha256 FROM snapshots")[0][0])
        with logged_in(store, data, "budi", "officer") as c:
            assert c.get(case.fleet.url(person)).status_code == 200
            assert c.get(case.fleet.media("snapshot", snap)).status_code == 200
            got = c.get(case.fleet.media("clip", CLIP_SHA), headers={"range": "bytes=0-999"})
            assert got.status_code == 206
            assert c.get(case.fleet.url(person, "evidence")).status_code == 200
            from edge.receiver.web import accesslog

            accesslog.stopped(c.app)  # type: ignore[arg-type]
        with logged_in(store, data, "siti", "viewer") as c:
            assert c.get(case.fleet.url(case.ids["door"])).status_code == 200
        key = load_or_create_key(data, "polda-test")
        pem = work / "rx.pem"
        pem.write_text(public_pem(key.public))
        out = work / "export"
        code = main(["receive", "-c", str(conf), "access", "export", "--since", "1d", "--out",
                     str(out)])  # fmt: skip
        assert code == 0
        yield Exported(conf, store, case, out, pem, work)
    finally:
        store.close()
        if server is not None and server.pid is not None:
            server.drop_database("access_export")


def _doc(path: Path) -> dict[str, Any]:
    return dict(json.loads((path / "export.json").read_text()))


def test_the_log_lists_accesses_newest_first_filtered(
    exported: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    """``access --json``: siti's view first (newest), then budi's four; ``--user budi``
    only his; ``--node`` of another node nothing; the table shows times in WIB."""
    conf = str(exported.conf)
    code, out, _ = _cli(capsys, "receive", "-c", conf, "access", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["user"] == "siti" and rows[0]["action"] == "view_detail"
    assert {r["action"] for r in rows if r["user"] == "budi"} == {
        "view_detail", "view_snapshot", "play_clip", "download_evidence"}  # fmt: skip
    clip = next(r for r in rows if r["action"] == "play_clip")
    assert clip["ranges"] == [[0, 1000]] and clip["ranges_unit"] == "bytes"
    _, out, _ = _cli(capsys, "receive", "-c", conf, "access", "--user", "budi", "--json")
    assert {r["user"] for r in json.loads(out)} == {"budi"} and len(json.loads(out)) == 4
    _, out, _ = _cli(capsys, "receive", "-c", conf, "access", "--node", "x/y", "--json")
    assert json.loads(out) == []
    _, out, _ = _cli(capsys, "receive", "-c", conf, "access")
    assert " WIB\tbudi\tofficer\tplay_clip\tclip\t" in out and "0-999 bytes" in out


def test_the_export_verifies_offline_with_the_receivers_key(
    exported: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    """export.json lists the five accesses and what is held (event, clip and snapshot with
    their stored sha256); chain.jsonl ends at a signed checkpoint after the export's own
    record; the page is in Bahasa Indonesia then English, in WIB; ``access verify`` with the
    public key says OK."""
    doc = _doc(exported.out)
    assert doc["schema"] == "warehouse-edge/access-export/1" and len(doc["accesses"]) == 5
    held = {(h["type"], h["id"]): h for h in doc["held"]}
    assert held[("clip", doc["accesses"][2]["id"])]["sha256"] == CLIP_SHA or any(
        h["sha256"] == CLIP_SHA for h in doc["held"] if h["type"] == "clip")  # fmt: skip
    assert {t for t, _ in held} == {"event", "clip", "snapshot"}
    assert all(h["deleted"] is None for h in doc["held"])
    lines = (exported.out / "chain.jsonl").read_text().splitlines()
    last, before = json.loads(lines[-1]), json.loads(lines[-2])
    assert last["action"] == "checkpoint" and before["action"] == "export"
    page = (exported.out / "export.html").read_text()
    assert page.index("Ekspor akses polisi") < page.index("Police access export")
    assert "memutar klip" in page and "played the clip" in page and " WIB" in page
    check = verify_export(exported.out, [exported.pem.read_text()])
    assert check.ok, check.problems
    code, out, err = _cli(capsys, "receive", "-c", str(exported.conf), "access", "verify",
                          str(exported.out), "--public-key", str(exported.pem))  # fmt: skip
    assert code == 0 and ": OK:" in out and not err
    code, out, _ = _cli(capsys, "receive", "-c", str(exported.conf), "access", "verify",
                        str(exported.out))  # fmt: skip
    assert code == 0 and ": OK: " in out  # with this receiver's own key


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (path / "chain.jsonl").read_text().splitlines()]


def _put(path: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    (path / "chain.jsonl").write_text(text)


def test_a_removed_or_edited_access_record_is_caught(
    exported: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    """An access record cut out of chain.jsonl, one whose user is edited, and the export
    re-signed by someone else after the chain was rehashed without it: each fails
    verification (exit 1), naming the record."""
    records = _lines(exported.out)
    access = next(i for i, r in enumerate(records) if r.get("action") == "play_clip")
    cut = exported.copy("cut")
    _put(cut, records[:access] + records[access + 1 :])
    problems = verify_export(cut, [exported.pem.read_text()]).problems
    assert any("sequence jumps" in p for p in problems), problems
    assert any("no such access record" in p for p in problems)
    assert any("chain.jsonl: changed since it was signed" in p for p in problems)
    edited = exported.copy("edited")
    records[access]["user"] = "nobody"
    _put(edited, records)
    code, _, err = _cli(capsys, "receive", "-c", str(exported.conf), "access", "verify",
                        str(edited), "--public-key", str(exported.pem))  # fmt: skip
    assert code == 1 and "hash mismatch" in err
    forged = exported.copy("forged")
    kept = _lines(exported.out)
    kept = kept[:access] + kept[access + 1 :]
    prev = kept[0]["prev"]
    for n, r in enumerate(kept):
        r["seq"], r["prev"] = kept[0]["seq"] + n, prev
        r["hash"] = record_hash(r)
        prev = r["hash"]
    _put(forged, kept)
    doc = _doc(forged)
    doc["accesses"] = [a for a in doc["accesses"] if a["action"] != "play_clip"]
    (forged / "export.json").write_text(json.dumps(doc))
    other = NodeKey.create(exported.work / "other.key")
    sign_bundle(forged, other, other.public, "warehouse-edge/access-export/1")
    problems = verify_export(forged, [exported.pem.read_text()]).problems
    assert any("SIGNATURE.json: signed by key" in p for p in problems), problems
    assert any("the signature does not verify" in p for p in problems)


def test_an_access_deleted_in_the_store_breaks_the_next_export(
    exported: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone with the database but not the receiver's key deletes budi's play_clip
    record from the chain and its index row: the next export still writes, and its
    verification names the gap."""
    db = exported.store.db
    seq = db.query("SELECT seq FROM access_log WHERE action = 'play_clip'")[0][0]
    chain = db.query("SELECT seq, hash, action, record FROM ack_chain WHERE seq = ?", (seq,))
    index = db.query("SELECT * FROM access_log WHERE seq = ?", (seq,))
    with db.transaction() as cur:
        cur.execute("DELETE FROM ack_chain WHERE seq = ?", (seq,))
        cur.execute("DELETE FROM access_log WHERE seq = ?", (seq,))
    try:
        out = exported.work / "after-delete"
        code, _, err = _cli(capsys, "receive", "-c", str(exported.conf), "access", "export",
                            "--since", "1d", "--out", str(out))  # fmt: skip
        assert code == 1 and f"the sequence jumps from seq {seq - 1} to {seq + 1}" in err
    finally:  # the module's other tests read this store
        with db.transaction() as cur:
            cur.execute("INSERT INTO ack_chain VALUES (?, ?, ?, ?)", tuple(chain[0]))
            cur.execute("INSERT INTO access_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tuple(index[0]))


def test_the_period_starts_at_its_first_record_viewings_included(tmp_path: Path) -> None:
    """Records out of time order (a viewing is chained when it ends, with its start's
    time): the export of a period starting after the first detail view begins at the
    viewing's record, lists it and the later view, not the earlier one; verifies."""
    from edge.receiver.access.export import first_seq, write_export
    from edge.receiver.access.record import Item, Recorder
    from edge.receiver.ackaudit.appender import Appender

    store = ReceiverStore(f"sqlite:///{tmp_path / 'receiver.db'}", tmp_path)
    try:
        appender = Appender(store.db, tmp_path, "polda-test")
        base = [time.time() + 10]
        rec = Recorder(store.db, appender, clock=lambda: base[0])
        event = Item("event", "e1", "semarang", "gudang-07", "a" * 64)
        clip = Item("clip", "c1", "semarang", "gudang-07", "b" * 64)
        rec.record("view_detail", event, user="budi", role="officer")  # seq 2
        base[0] += 10
        rec.view(clip, user="budi", role="officer", ranges=[(0, 10)], size=100)
        base[0] += 400
        rec.record("view_detail", event, user="siti", role="viewer")  # 3: clip, 4: this
        since = base[0] - 405
        assert first_seq(store.db, since, 4) == 3
        out = write_export(store, appender, since, base[0] + 1, tmp_path / "out")
        doc = _doc(out)
        assert [(a["audit_seq"], a["user"]) for a in doc["accesses"]] == [(3, "budi"), (4, "siti")]
        assert doc["chain"]["first_seq"] == 3 and _lines(out)[0]["action"] == "play_clip"
        assert verify_export(out, [appender.key().public]).ok
    finally:
        store.close()
