"""Signed checkpoints make the audit chain keyed: the node signs its chain head every N records
and at every heartbeat, so deleting records and recomputing the hashes no longer passes
`edge audit verify --public-key`, and a head archived from a heartbeat (`--head`) proves
nothing was cut off after it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nodecfg import node_config

from edge.cli.main import main
from edge.config.loader import loads
from edge.config.root import EdgeConfig
from edge.evidence.audit import GENESIS, AuditLog, record_hash
from edge.evidence.chain import record_line
from edge.evidence.keys import NodeKey, public_pem
from edge.node.node import Node

pytestmark = pytest.mark.faults


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def _verify(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", str(path), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def _export(cfg_file: Path, out: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Path:
    """The public key as the receiver gets it: the output of `edge keys export`."""
    assert main(["keys", "export", "-c", str(cfg_file), *args]) == 0
    out.write_text(capsys.readouterr().out)
    return out


def _node(tmp_path: Path) -> tuple[Path, EdgeConfig]:
    cfg_file = tmp_path / "node.toml"
    cfg_file.write_text(node_config(tmp_path / "data", "cp1", mock_gpio=True))
    return cfg_file, loads(cfg_file.read_text())


def _signed_log(cfg: EdgeConfig, n: int) -> Path:
    log = AuditLog(cfg.audit_path, signer=NodeKey(cfg.key_path), checkpoint_every=10)
    for i in range(n):
        log.append("shared", "person", f"event-{i}", "police", f"{i:064x}", topic="events")
    return cfg.audit_path


def _recompute(records: list[dict[str, Any]], *, fix_checkpoints: bool) -> bytes:
    """What someone without the key can do: renumber and rehash every record."""
    prev, out = GENESIS, []
    for seq, original in enumerate(records, 1):
        rec = {**original, "seq": seq, "prev": prev}
        if fix_checkpoints and rec["action"] == "checkpoint":
            rec.update(head=prev, head_seq=seq - 1, sha256=prev, id=str(seq - 1))
        rec["hash"] = record_hash(rec)
        prev = rec["hash"]
        out.append(record_line(rec))
    return b"".join(out)


def test_checkpoints_every_n_records_verify_with_the_exported_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """keys init records key_init and a checkpoint signed by the new key; then a checkpoint
    follows every 10 records, each signing the record before it; verify with the key from
    `edge keys export` (PEM or JSON) checks them all and names what is not signed yet."""
    cfg_file, cfg = _node(tmp_path)
    path = _signed_log(cfg, 25)
    records = _lines(path)
    assert [r["action"] for r in records[:2]] == ["key_init", "checkpoint"]
    checkpoints = [r for r in records if r["action"] == "checkpoint"]
    assert [r["seq"] for r in checkpoints] == [2, 13, 24]
    key = NodeKey(cfg.key_path)
    for cp in checkpoints:
        before = records[cp["seq"] - 2]
        assert cp["head"] == cp["prev"] == cp["sha256"] == before["hash"]
        assert cp["head_seq"] == before["seq"] and cp["key_id"] == key.id
        assert cp["alg"] == "Ed25519" and cp["signature"]

    pem = _export(cfg_file, tmp_path / "node.pub", capsys)
    code, out = _verify(capsys, path, "--public-key", str(pem))
    assert code == 0
    assert "3 checkpoints, every signature verified; 5 records after seq 24 not signed yet" in out
    as_json = _export(cfg_file, tmp_path / "node.json", capsys, "--json")
    code, out = _verify(capsys, path, "--public-key", str(as_json), "--json")
    result = json.loads(out)
    assert code == 0 and result["signatures_checked"] and result["unsigned"] == 5


def test_deleting_a_record_and_recomputing_the_chain_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record deleted and the chain recomputed no longer holds the head the node kept in
    audit.head; with that file gone too it passes the bare hash check (that is what the
    keys are for) but fails with the public key: the next checkpoint's signature does
    not verify. Left unfixed, the checkpoint no longer signs the record before it; another
    node's key is refused."""
    cfg_file, cfg = _node(tmp_path)
    path = _signed_log(cfg, 25)
    pem = _export(cfg_file, tmp_path / "node.pub", capsys)
    original = path.read_bytes()
    records = _lines(path)
    del records[4]  # seq 5, one of the shared records

    path.write_bytes(_recompute(records, fix_checkpoints=True))
    code, out = _verify(capsys, path)  # the node's audit.head beside it is no longer in it
    assert code == 1 and "(audit.head (the node's last signed head, seq 24" in out
    path.with_name("audit.head").unlink()  # what someone rewriting the log would do too
    assert _verify(capsys, path)[0] == 0
    code, out = _verify(capsys, path, "--public-key", str(pem))
    assert code == 1
    assert "audit.log:12: checkpoint seq 12 signature does not verify" in out

    path.write_bytes(_recompute(records, fix_checkpoints=False))
    code, out = _verify(capsys, path)
    assert code == 1 and "checkpoint seq 12 does not sign the record before it" in out

    other = NodeKey.create(tmp_path / "other.pem")
    (tmp_path / "other.pub").write_text(public_pem(other.public))
    path.write_bytes(original)
    code, out = _verify(capsys, path, "--public-key", str(tmp_path / "other.pub"))
    assert code == 1 and "not by a given public key" in out


def test_heartbeat_signs_the_head_and_a_cut_after_it_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node signs a checkpoint before each heartbeat (none when nothing is new), so the
    audit_head it publishes is a signed checkpoint. With that head archived, verify --head
    passes on the intact log, and fails ("cut or rewritten after HEAD") once the log is
    truncated back before it, with or without the key."""
    cfg_file, cfg = _node(tmp_path)
    node = Node(cfg)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(node.delivery, "health", lambda p, _ttl: sent.append(json.loads(p)))
    try:
        for i in range(3):
            node.audit.append("shared", "door_open", f"e{i}", "police", f"{i:064x}")
        node.heartbeat()
        node.heartbeat()  # nothing new: the same signed head
        head = sent[0]["audit_head"]
        assert sent[1]["audit_head"] == head
        records = _lines(cfg.audit_path)
        assert records[-1]["hash"] == head and records[-1]["action"] == "checkpoint"
        assert records[-1]["key_id"] == sent[0]["key_id"] == node.key.id
        for i in range(4):
            node.audit.append("shared", "door_open", f"f{i}", "police", f"{i:064x}")
    finally:
        node.stop()

    pem = _export(cfg_file, tmp_path / "node.pub", capsys)
    code, out = _verify(capsys, cfg.audit_path, "--public-key", str(pem), "--head", head)
    assert code == 0 and f"head {head} is seq {len(records)}" in out
    assert "4 records after seq" in out

    data = cfg.audit_path.read_bytes().splitlines(keepends=True)
    cfg.audit_path.write_bytes(b"".join(data[: len(records) - 1]))  # the checkpoint and after
    for args in (["--head", head], ["--public-key", str(pem), "--head", head]):
        code, out = _verify(capsys, cfg.audit_path, *args)
        assert code == 1
        assert f"the log was cut or rewritten after {head}" in out
