"""``edge report reconcile`` on hand-made bundles of the contracts' shape: halves that agree,
a deletion by retention (deleted, not missing), a missing item, a forged or misattributed
one, accesses outside the scope or to items never delivered, a removed or hidden access
record, a wrong key, and bundles that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from handbundles import (
    DAY,
    NODE,
    SITE,
    UNTIL,
    Keys,
    ReceiverChain,
    item,
    node_report,
    receiver_export,
)

from edge.cli.main import main
from edge.evidence.bundle import sign_bundle
from edge.report.reconcile import reconcile
from edge.report.reconcile_load import load

EVENT = item("event", "ev-1", DAY + 3600)
CLIP = item("clip", "clip-1", DAY + 3700)
SNAP = item("snapshot", "snap-1", DAY + 3600, kind="person")
OLD_CLIP = item("clip", "clip-0", DAY + 600)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """The node's and the receiver's keys."""
    return Keys(tmp_path)


def _run(tmp: Path, keys: Keys, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp / "result.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["report", "reconcile", str(tmp / "report"), str(tmp / "export"),
                     "--node-key", str(tmp / "node.pub"), "--receiver-key",
                     str(tmp / "receiver.pub"), "--json", *extra])  # fmt: skip
    out.write_text(buf.getvalue())
    return code, json.loads(buf.getvalue())


def _codes(result: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in result["findings"])


def _agreeing(tmp: Path, keys: Keys) -> ReceiverChain:
    """A report delivering four items and an export holding them (one deleted by retention),
    with two officers' accesses."""
    node_report(tmp / "report", keys, [OLD_CLIP, EVENT, SNAP, CLIP])
    chain = ReceiverChain(keys)
    a1 = chain.access("view_detail", EVENT, "budi", DAY + 4000)
    a2 = chain.access("play_clip", CLIP, "sari", DAY + 4100)
    gone = chain.delete(OLD_CLIP, DAY + 5000)
    chain.checkpoint()
    held = [
        EVENT,
        SNAP,
        CLIP,
        {**OLD_CLIP, "deleted": {"time": DAY + 5000, "reason": "retention", "audit_seq": 3}},
    ]
    receiver_export(tmp / "export", keys, chain, held, [a1, a2], [gone])
    return chain


def test_halves_that_agree_exit_0_and_a_retention_deletion_is_deleted_not_missing(
    tmp_path: Path, keys: Keys
) -> None:
    """Everything delivered is held or deleted by retention; the deleted clip is listed as
    deleted with the receiver's record; exit 0."""
    _agreeing(tmp_path, keys)
    code, result = _run(tmp_path, keys)
    assert code == 0, result
    assert result["ok"] and result["findings"] == []
    assert [(d["id"], d["deleted"]["reason"]) for d in result["deleted"]] == [
        ("clip-0", "retention")
    ]
    assert result["counts"]["matched"] == 3 and result["counts"]["accesses"] == 2
    assert (result["site"], result["node"], result["destination"]) == (SITE, NODE, "polda")


def test_the_text_output_says_agree(tmp_path: Path, keys: Keys,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Without --json: a summary line, the deleted clip, and ``agree``."""
    _agreeing(tmp_path, keys)
    assert main(["report", "reconcile", str(tmp_path / "report"), str(tmp_path / "export")]) == 0
    out = capsys.readouterr().out
    assert "deleted, not missing: clip clip-0 (retention" in out
    assert out.rstrip().endswith("agree") and "note: " in out  # no key pinned: said


def test_missing_forged_and_misattributed_items_are_found(tmp_path: Path, keys: Keys) -> None:
    """The snapshot delivered but not held; an event held as this node's that it never
    delivered; the clip held with another sha256: each a finding, exit 1."""
    node_report(tmp_path / "report", keys, [EVENT, SNAP, CLIP])
    chain = ReceiverChain(keys)
    chain.add("key_init", "key", keys.receiver.id, DAY)
    chain.checkpoint()
    forged = item("event", "ev-forged", DAY + 7000)
    receiver_export(tmp_path / "export", keys, chain,
                    [EVENT, {**CLIP, "sha256": "f" * 64}, forged], [], [])  # fmt: skip
    code, result = _run(tmp_path, keys)
    assert code == 1
    assert _codes(result) == ["delivered_not_held", "held_not_delivered", "misattributed"]
    by_code = {f["code"]: f for f in result["findings"]}
    assert by_code["delivered_not_held"]["item"]["id"] == "snap-1"
    assert by_code["held_not_delivered"]["item"]["id"] == "ev-forged"
    assert "sha256" in by_code["misattributed"]["detail"]


def test_accesses_outside_the_scope_or_to_undelivered_items_are_found(
    tmp_path: Path, keys: Keys
) -> None:
    """An access to an item of the private camera and one to a camera outside the scope
    (both held, never delivered): each is found; another node's item is not this report's
    business."""
    node_report(tmp_path / "report", keys, [EVENT])
    private = item("snapshot", "snap-private", DAY + 1100, camera="kantor")
    outside = item("clip", "clip-gudang", DAY + 1200, camera="gudang")
    other = {**item("event", "ev-other", DAY + 1300), "node": "gudang-02"}
    chain = ReceiverChain(keys)
    accesses = [chain.access("view_detail", EVENT, "budi", DAY + 400),
                chain.access("view_snapshot", private, "budi", DAY + 500),
                chain.access("play_clip", outside, "sari", DAY + 600),
                chain.access("view_detail", other, "sari", DAY + 700)]  # fmt: skip
    chain.checkpoint()
    receiver_export(tmp_path / "export", keys, chain, [EVENT, private, outside, other],
                    accesses, [])  # fmt: skip
    code, result = _run(tmp_path, keys)
    assert code == 1
    codes = _codes(result)
    assert codes.count("access_not_delivered") == 2 and codes.count("access_out_of_scope") == 2
    details = " ".join(f["detail"] for f in result["findings"])
    assert "camera kantor is private" in details and "camera gudang" in details
    assert "ev-other" not in details


def test_a_removed_access_record_breaks_the_chain_even_when_re_signed(
    tmp_path: Path, keys: Keys
) -> None:
    """The second access's record taken out of chain.jsonl and out of the list, the bundle
    signed again with the receiver's own key: the gap in the sequence is found."""
    chain = _agreeing(tmp_path, keys)
    export = tmp_path / "export"
    lines = [line for line in (export / "chain.jsonl").read_bytes().splitlines(keepends=True)
             if json.loads(line)["seq"] != 2]  # fmt: skip
    (export / "chain.jsonl").write_bytes(b"".join(lines))
    doc = json.loads((export / "export.json").read_text())
    doc["accesses"] = [a for a in doc["accesses"] if a["audit_seq"] != 2]
    (export / "export.json").write_text(json.dumps(doc))
    sign_bundle(export, keys.receiver, keys.receiver.public, doc["schema"])
    code, result = _run(tmp_path, keys)
    assert code == 1 and set(_codes(result)) == {"chain"}, result
    assert "jumps from seq 1 to 3" in result["findings"][0]["detail"]
    assert len(chain.records) == 4


def test_an_access_left_out_of_the_list_or_an_edited_bundle_is_found(
    tmp_path: Path, keys: Keys
) -> None:
    """An access whose chain record stays but whose entry is dropped from export.json (not
    re-signed): the file changed since signing, and the record is not in the list."""
    _agreeing(tmp_path, keys)
    path = tmp_path / "export" / "export.json"
    doc = json.loads(path.read_text())
    doc["accesses"] = doc["accesses"][:1]
    path.write_text(json.dumps(doc))
    code, result = _run(tmp_path, keys)
    assert code == 1
    assert _codes(result) == ["bundle", "export_inconsistent"], result
    assert "changed since it was signed" in result["findings"][0]["detail"]


def test_a_bundle_checked_with_another_key_is_a_finding(tmp_path: Path, keys: Keys) -> None:
    """The node's public key given for the receiver's export: its signature and its
    checkpoints are not that key's."""
    _agreeing(tmp_path, keys)
    (tmp_path / "receiver.pub").write_text((tmp_path / "node.pub").read_text())
    code, result = _run(tmp_path, keys)
    assert code == 1 and {"bundle", "chain"} <= set(_codes(result))
    assert all(f["side"] == "receiver" for f in result["findings"])


def test_unreadable_bundles_and_keys_exit_2(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """No export directory, a report without report.json, a key file that is not a key:
    exit 2 naming it."""
    _agreeing(tmp_path, keys)
    report, export = str(tmp_path / "report"), str(tmp_path / "export")
    assert main(["report", "reconcile", report, str(tmp_path / "nothing")]) == 2
    assert "nothing: not a directory" in capsys.readouterr().err
    (tmp_path / "report" / "report.json").unlink()
    assert main(["report", "reconcile", report, export]) == 2
    assert "report.json: missing" in capsys.readouterr().err
    (tmp_path / "bad.pem").write_text("not a key")
    assert main(["report", "reconcile", export, export, "--node-key",
                 str(tmp_path / "bad.pem")]) == 2  # fmt: skip
    assert "public key 1" in capsys.readouterr().err


def test_items_outside_the_other_periods_are_not_compared(tmp_path: Path, keys: Keys) -> None:
    """An export of the first half of the day only: what the node delivered after it is not
    called missing, what the receiver holds of the day before not forged; both counted as
    not compared."""
    late = item("event", "ev-late", DAY + 80000)
    node_report(tmp_path / "report", keys, [EVENT, late])
    (tmp_path / "report").rename(tmp_path / "r")
    report = load(tmp_path / "r", "report.json").doc
    chain = ReceiverChain(keys)
    chain.add("key_init", "key", keys.receiver.id, DAY)
    earlier = item("event", "ev-yesterday", DAY - 5000)
    receiver_export(tmp_path / "export", keys, chain, [EVENT, earlier], [], [])
    export = load(tmp_path / "export", "export.json").doc
    export["period"] = {"since": DAY - 43200, "until": DAY + 43200}
    result = reconcile(report, export)
    assert result.ok, result.findings
    assert result.counts["not_compared"] == 2 and result.period == (DAY, DAY + 43200)
    assert UNTIL == DAY + 86400


def test_a_report_of_several_destinations_needs_destination(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report of every destination (the police's and the operator's deliveries): without
    --destination reconcile cannot tell which the receiver is (exit 2, naming them); with
    it, only the police's deliveries are compared."""
    _agreeing(tmp_path, keys)
    path = tmp_path / "report" / "report.json"
    doc = json.loads(path.read_text())
    doc["delivered"].append({**item("event", "ev-operator", DAY + 9000), "destination": "kpu",
                             "audit_seq": 1})  # fmt: skip
    doc["scope"]["kpu"] = {"cameras": ["*"], "kinds": ["*"]}
    path.write_text(json.dumps(doc))
    sign_bundle(tmp_path / "report", keys.node, keys.node.public, doc["schema"])
    report, export = str(tmp_path / "report"), str(tmp_path / "export")
    assert main(["report", "reconcile", report, export]) == 2
    assert "destinations kpu, polda: name the receiver's with --destination" in (
        capsys.readouterr().err
    )
    code, result = _run(tmp_path, keys, "--destination", "polda")
    assert code == 0 and result["counts"]["delivered"] == 4, result


def test_an_access_allowed_by_a_scope_replaced_in_the_period_is_in_scope(
    tmp_path: Path, keys: Keys
) -> None:
    """The police had camera gudang until noon (scope_history names the old scope): an
    access to a gudang clip delivered in the morning is in scope, though the scope at the
    period's end leaves gudang out."""
    morning = item("clip", "clip-gudang", DAY + 7200, camera="gudang")
    change = {"time": DAY + 43200, "audit_seq": 9, "destination": "polda",
              "old": {"cameras": ["pintu", "gudang"], "kinds": ["*"]},
              "new": {"cameras": ["pintu"], "kinds": ["*"]}}  # fmt: skip
    node_report(tmp_path / "report", keys, [morning], scope_history=[change])
    chain = ReceiverChain(keys)
    viewed = chain.access("play_clip", morning, "budi", DAY + 50000)
    chain.checkpoint()
    receiver_export(tmp_path / "export", keys, chain, [morning], [viewed], [])
    code, result = _run(tmp_path, keys)
    assert code == 0, result["findings"]


def test_lists_that_are_not_their_chains_records_are_found(tmp_path: Path, keys: Keys) -> None:
    """A delivered item naming an audit record its chain does not hold; a retention
    deletion in the receiver's chain left out of the export's deletions; a listed deletion
    with no record: each side's document against its own chain."""
    node_report(tmp_path / "report", keys, [EVENT, OLD_CLIP])
    chain = ReceiverChain(keys)
    chain.delete(OLD_CLIP, DAY + 5000)
    chain.checkpoint()
    ghost = {"audit_seq": 42, "time": DAY + 6000, "type": "clip", "id": "clip-x",
             "sha256": None, "site": SITE, "node": NODE, "reason": "retention"}  # fmt: skip
    receiver_export(tmp_path / "export", keys, chain, [EVENT], [], [ghost])
    report = load(tmp_path / "report", "report.json")
    export = load(tmp_path / "export", "export.json")
    report.doc["delivered"][0]["audit_seq"] = 99
    result = reconcile(report.doc, export.doc, report_chain=report.records,
                       export_chain=export.records)  # fmt: skip
    details = sorted(f"{f.code}: {f.detail}" for f in result.findings)
    assert details == [
        "delivered_not_held: clip clip-0: delivered by the node, not held by the receiver",
        "export_inconsistent: chain record seq 1 (retention delete of clip clip-0) is not in "
        "the export's deletions",
        "export_inconsistent: deletion seq 42 (clip clip-x): listed, but not a "
        "retention_delete record of it in chain.jsonl",
        "report_inconsistent: event ev-1: its audit record seq 99 is not in the report's "
        "chain.jsonl",
    ], details


def test_an_edited_chain_record_is_found_even_when_the_bundle_is_re_signed(
    tmp_path: Path, keys: Keys
) -> None:
    """An access record's user changed in chain.jsonl and export.json alike, the bundle
    signed again with the receiver's key: the record no longer hashes right."""
    _agreeing(tmp_path, keys)
    export = tmp_path / "export"
    lines = (export / "chain.jsonl").read_bytes().splitlines(keepends=True)
    rec = json.loads(lines[0])
    lines[0] = (json.dumps({**rec, "user": "someone-else"}, sort_keys=True) + "\n").encode()
    (export / "chain.jsonl").write_bytes(b"".join(lines))
    doc = json.loads((export / "export.json").read_text())
    doc["accesses"][0]["user"] = "someone-else"
    (export / "export.json").write_text(json.dumps(doc))
    sign_bundle(export, keys.receiver, keys.receiver.public, doc["schema"])
    code, result = _run(tmp_path, keys)
    assert code == 1
    chain = [f["detail"] for f in result["findings"] if f["code"] == "chain"]
    assert "chain.jsonl record seq 1: hash mismatch (edited)" in chain, result["findings"]


def test_an_incident_page_view_is_a_view_of_each_event_it_names(tmp_path: Path, keys: Keys) -> None:
    """An incident page viewed (type incident, node null; its chain record names the events
    shown): each of this node's events it names is an access checked like any other, so
    the forged one it showed is found; another node's event is not this report's."""
    node_report(tmp_path / "report", keys, [EVENT])
    forged = item("event", "ev-forged", DAY + 2000)
    chain = ReceiverChain(keys)
    events = [f"{NODE}/ev-1", f"{NODE}/ev-forged", "gudang-02/ev-9"]
    rec = chain.add("view_detail", "access", "inc-1", DAY + 3000, user="budi", role="officer",
                    site=SITE, node=None, type="incident", nodes=[NODE, "gudang-02"],
                    events=events)  # fmt: skip
    chain.checkpoint()
    viewed = {"audit_seq": rec["seq"], "time": DAY + 3000, "user": "budi", "role": "officer",
              "action": "view_detail", "type": "incident", "id": "inc-1", "site": SITE,
              "node": None, "sha256": None}  # fmt: skip
    receiver_export(tmp_path / "export", keys, chain, [EVENT, forged], [viewed], [])
    code, result = _run(tmp_path, keys)
    assert code == 1 and result["counts"]["accesses"] == 2, result
    details = [f["detail"] for f in result["findings"] if f["code"] == "access_not_delivered"]
    assert details == [
        "access seq 1 (view_detail on incident inc-1's page by budi): event ev-forged was never "
        "delivered by the node"
    ], result["findings"]
