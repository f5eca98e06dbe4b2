"""The evidence bundle of an alert with everything an investigator needs, checked the way
one would: still verifiable with openssl and Python as before; the event's snapshot; the
event byte for byte as received, the fields its message signature covers and that
signature as it came on the wire (it verifies over them with the key in the bundle, by
openssl as the README says); the incident's
other events; the acknowledgement and the workflow notes with their records from the
receiver's audit chain (each record's hash holds); a README in Bahasa Indonesia and English
with every time in WIB."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundlecheck import check_bundle
from casefile import INCIDENT, WIB, Case, logged_in, make_case, row, store_url
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from dash import csrf_of, jpeg
from starlette.testclient import TestClient

from edge.evidence.chain import record_hash
from edge.evidence.signing import SIG
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.incident_page import incident_url

CASE_FILES = {
    "snapshot.jpg", "event.received.json", "event.signed-fields.json", "event.sig",
    "incident/incident.json", "incident/other-events.json", "workflow/acknowledgement.json",
    "workflow/notes.json", "workflow/audit-records.jsonl", "workflow/chain-head.json",
    "workflow/receiver-keys.json",
}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReceiverStore]:
    """A store on either engine."""
    s = ReceiverStore(store_url(tmp_path, request), tmp_path / "rx")
    yield s
    s.close()


@pytest.fixture
def handled(store: ReceiverStore, tmp_path: Path) -> Iterator[tuple[Case, TestClient]]:
    """The incident, its person alert acknowledged by budi (the page's form) and the
    incident commented on; budi's client."""
    case = make_case(store, tmp_path)
    with logged_in(store, tmp_path / "rx", "budi", "officer") as c:
        url = case.fleet.url(case.ids["person"])
        token = csrf_of(c.get(url).text)
        r = c.post(case.fleet.url(case.ids["person"], "ack"),
                   data={"csrf": token, "note": "orang di lorong"})  # fmt: skip
        assert r.status_code == 200
        r = c.post(f"{incident_url(case.fleet.node.site, INCIDENT)}/comment",
                   data={"csrf": token, "text": "patroli dikirim"})  # fmt: skip
        assert r.status_code == 200
        yield case, c


def _bundle(case: Case, client: TestClient, out: Path) -> dict[str, bytes]:
    """The person alert's bundle, checked as before (openssl, Python), as name -> bytes."""
    r = client.get(case.fleet.url(case.ids["person"], "evidence"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    check_bundle(r.content, out)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_bundle_adds_snapshot_signed_event_incident_and_audited_workflow(
    handled: tuple[Case, TestClient], store: ReceiverStore, tmp_path: Path
) -> None:
    """Every earlier file still verifies; the snapshot is the stored JPEG; the event is the
    payload the node sent, its signature is the wire's and verifies over the signed fields
    with the bundle's key (openssl, the README's step 5, run by check_bundle); the other
    events are the door's START and END (not the unrelated motion); the acknowledgement
    and both notes carry hashes of chain records that are in the bundle, each whole."""
    case, client = handled
    files = _bundle(case, client, tmp_path / "out")
    assert set(files) >= CASE_FILES, sorted(CASE_FILES - set(files))
    assert files["snapshot.jpg"] == jpeg()
    _topic, payload, props = case.wires["person"]
    assert files["event.received.json"] == payload
    signed = json.loads(files["event.signed-fields.json"])
    assert signed["id"] == case.ids["person"] and signed["topic"] == "events"
    key = load_pem_public_key(files["node-public-key.pem"])
    assert isinstance(key, Ed25519PublicKey)
    assert files["event.sig"] == base64.b64decode(dict(props)[SIG])  # as it came on the wire
    key.verify(files["event.sig"], files["event.signed-fields.json"])
    others = json.loads(files["incident/other-events.json"])
    assert sorted(e["id"] for e in others) == sorted([case.ids["door"], case.ids["door_end"]])
    assert all(e["received_shown"].endswith(" WIB") for e in others)
    incident = json.loads(files["incident/incident.json"])
    assert incident["incident"] == INCIDENT and incident["status"] == "acknowledged"
    ack = json.loads(files["workflow/acknowledgement.json"])
    assert ack["username"] == "budi" and ack["note"] == "orang di lorong"
    notes = json.loads(files["workflow/notes.json"])
    assert [(n["action"], n["username"]) for n in notes] == [("acknowledge", "budi"),
                                                             ("comment", "budi")]  # fmt: skip
    records = [json.loads(line) for line in files["workflow/audit-records.jsonl"].splitlines()]
    assert {r["hash"] for r in records} == {ack["audit_hash"], *(n["audit_hash"] for n in notes)}
    assert all(record_hash(r) == r["hash"] for r in records)
    head = json.loads(files["workflow/chain-head.json"])
    # the head when the bundle was made (its download is chained after, issue 26)
    assert head["hash"] == row(store, "SELECT hash FROM ack_chain WHERE seq = ?", (head["seq"],))[0]
    keys = json.loads(files["workflow/receiver-keys.json"])
    assert head["key_id"] in {k["key_id"] for k in keys}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_readme_speaks_bahasa_indonesia_and_english_in_wib(
    handled: tuple[Case, TestClient], tmp_path: Path
) -> None:
    """README.txt: an Indonesian part and an English part, the event's and the receipt's
    times, the clip's start and the acknowledgement's in WIB (no UTC stamp anywhere), the
    event's offset in the clip, who acknowledged and commented and what."""
    case, client = handled
    readme = _bundle(case, client, tmp_path / "out")["README.txt"].decode()
    assert "== Bahasa Indonesia ==" in readme and "== English ==" in readme
    assert readme.index("== Bahasa Indonesia ==") < readme.index("== English ==")
    assert "Peristiwa: Orang" in readme and "Event: Person" in readme
    store = case.fleet.store
    sql = "SELECT e.received, a.time FROM events e JOIN acks a ON a.event_id = e.id WHERE e.id = ?"
    received, ack_at = row(store, sql, (case.ids["person"],))
    for moment in (case.times["person"], received, case.clip_start, ack_at):
        assert WIB.when(float(moment)) in readme
    assert not re.search(r"\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", readme)
    offset = round(case.times["person"] - case.clip_start, 3)
    assert f"detik ke-{offset} rekaman" in readme and f"at second {offset} of the clip" in readme
    assert "oleh budi" in readme and "by budi" in readme and "orang di lorong" in readme
    assert "comment: patroli dikirim" in readme
    assert "-inkey node-public-key.pem -rawin \\\n         -in event.signed-fields.json" in readme


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_event_stored_without_its_signature_still_bundles(
    handled: tuple[Case, TestClient], store: ReceiverStore, tmp_path: Path
) -> None:
    """An event stored before the receiver kept signatures (none in its row): no event.sig,
    the README says the signature was checked on receipt but not kept, and the rest of the
    bundle verifies as before."""
    case, client = handled
    with store.db.transaction() as cur:
        cur.execute("UPDATE events SET key_id = NULL, signature = NULL WHERE id = ?",
                    (case.ids["person"],))  # fmt: skip
    files = _bundle(case, client, tmp_path / "out")
    assert "event.sig" not in files and "event.received.json" in files
    readme = files["README.txt"].decode()
    assert "did not keep it" in readme and "-sigfile event.sig" not in readme
