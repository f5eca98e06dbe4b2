"""A chain shortened without the key is caught (issue 23, finding 5): a record deleted and
the checkpoints after it dropped, every checkpoint dropped, the log emptied or deleted. Each
fails `edge audit verify --heads-file` (the heads the receiver archived from heartbeats)
with a line naming the missing head, and `--public-key` where the keys can tell; the intact
chain still verifies. Real node logs (ten simulated minutes, a record every 5 s, a
heartbeat every 60 s), the real CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from auditchain import NodeLog, lines, node_log, recompute, run_log, sign_silently, verify

from edge.evidence.audit import AuditLog
from edge.evidence.keys import NodeKey, public_pem

pytestmark = pytest.mark.faults


@pytest.fixture
def nl(tmp_path: Path) -> NodeLog:
    """A node's log over ten minutes, its key exported and its heads archived."""
    return node_log(tmp_path)


def test_the_intact_chain_verifies_with_every_archived_head(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Untouched: exit 0 with the key and every archived head (the node's audit.head, 0600
    beside the log, is the last of them), from the --json output or the table of `edge
    receive heads`."""
    heads = nl.heads_file(tmp_path / "heads.json")
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--heads-file", str(heads))
    assert code == 0, out
    assert f"; {len(nl.heads)} heads kept outside the log, every one in the chain" in out
    assert "every signature verified" in out
    assert nl.state.stat().st_mode & 0o777 == 0o600
    table = tmp_path / "heads.txt"
    table.write_text("time\thead\n" + "".join(f"2026-12-07 10:00:00\t{h}\n" for h, _ in nl.heads))
    assert verify(capsys, nl.path, "--heads-file", str(table))[0] == 0


def test_a_deleted_record_with_the_checkpoints_after_it_dropped_is_cut(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The red team's case: record 40 deleted, every checkpoint after it dropped, the
    chain recomputed and audit.head removed. It used to pass --public-key ("85 records not
    signed yet"); now the archived heads after the cut are named missing, and the key alone
    finds the unsigned records spanning more than two heartbeats."""
    heads = nl.heads_file(tmp_path / "heads.json")
    records = lines(nl.path)
    cut = 40
    kept = records[: cut - 1] + [r for r in records[cut:] if r["action"] != "checkpoint"]
    nl.path.write_bytes(recompute(kept))
    nl.state.unlink()
    last_signed = max(r["seq"] for r in records[: cut - 1] if r["action"] == "checkpoint")
    assert verify(capsys, nl.path)[0] == 0  # the bare hash chain holds: that is the attack

    code, out = verify(capsys, nl.path, "--heads-file", str(heads))
    assert code == 1
    missing = [h for h, _ in nl.heads if h not in {r["hash"] for r in records[: cut - 1]}]
    assert len(missing) >= 5
    for head in missing:
        assert f"the log was cut or rewritten after {head}: that head (heads.json entry" in out
    assert f"CUT (chain of {len(kept)} records" in out
    assert f"{len(missing)} of {len(nl.heads)} heads kept outside it missing" in out

    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem))
    assert code == 1 and "not signed yet" not in out
    assert f"records after checkpoint seq {last_signed} span" in out
    assert "but the node signs at every heartbeat" in out
    assert f"the log was cut or rewritten after seq {last_signed}" in out
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--json")
    result = json.loads(out)
    assert result["verdict"] == "cut" and result["ok"] is False


def test_every_checkpoint_dropped_is_cut(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All checkpoints dropped and the chain recomputed: the key finds records with no
    checkpoint at all (more than 100 of them, spanning ten minutes); any archived head is
    missing. Five minutes without a checkpoint are too long for a heartbeat every 60 s (the
    default) but not for one every 300 s (--interval 300)."""
    heads = nl.heads_file(tmp_path / "heads.json")
    records = [r for r in lines(nl.path) if r["action"] != "checkpoint"]
    nl.path.write_bytes(recompute(records))
    nl.state.unlink()
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem))
    assert code == 1
    assert f"{len(records)} records and no checkpoint, but the node signs after every 100" in out
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--head", nl.heads[-1][0])
    assert code == 1 and f"the log was cut or rewritten after {nl.heads[-1][0]}" in out

    nl.path.write_bytes(recompute(records[:60]))  # five minutes: 60 records, 300 s
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem))
    assert code == 1 and re.search(r"60 records and no checkpoint span 29\d s \(seq 1 at", out)
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--interval", "300")
    assert code == 0 and "60 records after seq 0 not signed yet" in out
    assert verify(capsys, nl.path, "--heads-file", str(heads))[0] == 1


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_an_emptied_or_deleted_log_is_cut(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """A zero-length or deleted log fails wherever a head says it held records: the
    archived heads (each named), the node's audit.head beside it, even with no option at
    all; with neither left, a deleted log cannot be read (exit 2) and an empty one has
    nothing to check."""
    heads = nl.heads_file(tmp_path / "heads.json")
    if how == "emptied":
        os.truncate(nl.path, 0)
        said = "the log is empty, but"
    else:
        nl.path.unlink()
        said = "the log is missing, but"
    code, out = verify(capsys, nl.path, "--heads-file", str(heads), "--public-key", str(nl.pem))
    assert code == 1
    for head, _ in nl.heads:
        assert f"{said} heads.json entry" in out and f"says it held head {head}" in out
    assert out.count(said) == len(nl.heads)  # audit.head is the newest of them
    code, out = verify(capsys, nl.path)
    assert code == 1 and f"{said} audit.head (the node's last signed head, seq" in out
    nl.state.unlink()
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem))
    assert code == (0 if how == "emptied" else 2), out


def test_a_key_change_verifies_only_when_recorded(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node whose key was swapped records key_change before the new key signs: with
    both public keys the chain verifies and says so. Checkpoints by another key with no
    key_change (a swap used silently, as before) fail --public-key; without the keys the
    summary still tells."""
    new = NodeKey.create(tmp_path / "new-key.pem")
    (tmp_path / "new.pem").write_text(public_pem(new.public))
    run_log(AuditLog(nl.path, signer=new, clock=nl.clock), nl, 120)
    change = next(r for r in lines(nl.path) if r["action"] == "key_change")
    assert (change["old_key_id"], change["new_key_id"]) == (nl.key.id, new.id)
    both = ["--public-key", str(nl.pem), "--public-key", str(tmp_path / "new.pem")]
    code, out = verify(capsys, nl.path, *both)
    assert code == 0, out
    assert f"key changed at seq {change['seq']}: {nl.key.id} -> {new.id} (recorded)" in out

    silent = node_log(tmp_path / "silent")
    sign_silently(silent.path, new, silent.clock.now)
    both[1] = str(silent.pem)
    code, out = verify(capsys, silent.path, *both)
    assert code == 1
    assert f"is signed by key {new.id}, but key {silent.key.id} signed the chain before it" in out
    assert "swapped without a record" in out
    code, out = verify(capsys, silent.path)
    assert f"signed by key {new.id} after key {silent.key.id} with no key_change record" in out


def test_a_bad_heads_file_is_refused_naming_the_place(
    nl: NodeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A heads file that is not what `edge receive heads` writes, an empty one, or a
    malformed --head: exit 2 and a line naming the file and the entry or line."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"head": nl.heads[0][0]}, {"head": "abc"}]))
    code, out = verify(capsys, nl.path, "--heads-file", str(bad))
    assert code == 2 and f"{bad}: entry 2: no audit head (64 hex digits)" in out
    text = tmp_path / "bad.txt"
    text.write_text(f"{nl.heads[0][0]}\nnot a head\n")
    code, out = verify(capsys, nl.path, "--heads-file", str(text))
    assert code == 2 and f"{text}:2: expected one audit head" in out
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    code, out = verify(capsys, nl.path, "--heads-file", str(empty))
    assert code == 2 and "no audit head in it" in out
    code, out = verify(capsys, nl.path, "--head", "xyz")
    assert code == 2 and "--head 'xyz': not an audit head" in out
    code, out = verify(capsys, nl.path, "--heads-file", str(tmp_path / "absent.json"))
    assert code == 2 and "absent.json: No such file" in out
