"""The node never starts silently on a shortened audit log, and never signs silently with
another key (issue 23, finding 5). Its log emptied, deleted or cut short of the head it kept
in audit.head: the break is the next record of the chain (``chain_break``, naming what was
expected and what was found), an ``audit.chain_break`` error and a heartbeat reason, and the
node runs. A swapped key: ``key_change`` before the new key signs, an ``audit.key_change``
warning and a heartbeat reason. Real files, the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import structlog
from auditchain import NodeLog, lines, node_log, run_log, verify

from edge.evidence.audit import GENESIS, AuditLog
from edge.evidence.keys import NodeKey, public_pem
from edge.node import heartbeat
from edge.node.node import Node

pytestmark = pytest.mark.faults


def _state(nl: NodeLog) -> dict[str, object]:
    return dict(json.loads(nl.state.read_text()))


@pytest.mark.parametrize(("how", "found"), [("emptied", "empty"), ("deleted", "missing")])
def test_an_emptied_or_deleted_log_starts_a_chain_that_records_the_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, found: str
) -> None:
    """The log emptied or deleted while audit.head says seq N was signed: opening it writes
    chain_break as seq 1 (expected seq and head, what was found), signs it at once, logs
    audit.chain_break and reports audit_chain_break:FOUND. The new chain verifies and says
    so; every head archived before fails --heads-file naming the break; a second start
    finds nothing new."""
    nl = node_log(tmp_path)
    expected = _state(nl)
    heads = nl.heads_file(tmp_path / "heads.json")
    if how == "emptied":
        os.truncate(nl.path, 0)
    else:
        nl.path.unlink()
    with structlog.testing.capture_logs() as logs:
        log = AuditLog(nl.path, signer=nl.key, clock=nl.clock)
    first, signed = lines(nl.path)
    assert (first["seq"], first["prev"], first["action"]) == (1, GENESIS, "chain_break")
    assert (first["found"], first["found_seq"]) == (found, 0)
    assert (first["expected_seq"], first["expected_head"]) == (expected["seq"], expected["head"])
    assert first["expected_key_id"] == nl.key.id and first["state_file"] == "audit.head"
    assert signed["action"] == "checkpoint" and signed["head"] == first["hash"]
    error = next(e for e in logs if e["event"] == "audit.chain_break")
    assert error["log_level"] == "error" and error["found"] == found
    assert f"says the node had signed it up to seq {expected['seq']}" in error["problem"]
    assert log.reasons == (f"audit_chain_break:{found}",)
    assert [b.action for b in log.breaks] == ["chain_break"]
    assert _state(nl)["seq"] == 2

    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem))
    assert code == 0, out
    assert f"chain break recorded at seq 1: the node found its log {found} where seq" in out
    code, out = verify(capsys, nl.path, "--heads-file", str(heads))
    assert code == 1 and "(the node recorded a chain break at seq 1)" in out
    assert AuditLog(nl.path, signer=nl.key).breaks == []
    assert len(lines(nl.path)) == 2


def test_a_log_cut_short_of_its_signed_head_records_the_break_after_what_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last 30 lines cut off at a line boundary (no torn line to give it away): the
    chain goes on after what is left with chain_break (found: shorter, the seq and head
    found); the archived heads after the cut fail --heads-file."""
    nl = node_log(tmp_path)
    expected = _state(nl)
    heads = nl.heads_file(tmp_path / "heads.json")
    data = nl.path.read_bytes().splitlines(keepends=True)
    nl.path.write_bytes(b"".join(data[:-30]))
    left = lines(nl.path)[-1]
    log = AuditLog(nl.path, signer=nl.key, clock=nl.clock)
    brk = lines(nl.path)[len(data) - 30]
    assert brk["action"] == "chain_break" and brk["prev"] == left["hash"]
    assert brk["found"] == "shorter"
    assert (brk["found_seq"], brk["found_head"]) == (left["seq"], left["hash"])
    assert brk["expected_seq"] == expected["seq"] and log.reasons == ("audit_chain_break:shorter",)
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--heads-file", str(heads))
    assert code == 1 and f"the log was cut or rewritten after {expected['head']}" in out


def test_a_swapped_key_is_recorded_before_it_signs_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node opened with another key than the one that signed last: key_change (old and
    new key id, the new public key) comes before the new key's first checkpoint, with an
    audit.key_change warning and the reason audit_key_change:NEW; audit.head names the new
    key. Reopened with it, nothing more; verify with both keys says the change is recorded."""
    nl = node_log(tmp_path)
    new = NodeKey.create(tmp_path / "swapped.pem")
    run_log(AuditLog(nl.path, signer=nl.key, clock=nl.clock), nl, 7)  # unsigned records
    with structlog.testing.capture_logs() as logs:
        log = AuditLog(nl.path, signer=new, clock=nl.clock)
    change, signed = lines(nl.path)[-2:]
    assert change["action"] == "key_change" and change["public_key"] == public_pem(new.public)
    assert (change["old_key_id"], change["new_key_id"]) == (nl.key.id, new.id)
    assert signed["action"] == "checkpoint" and signed["key_id"] == new.id
    warning = next(e for e in logs if e["event"] == "audit.key_change")
    assert warning["log_level"] == "warning" and warning["new_key_id"] == new.id
    assert log.reasons == (f"audit_key_change:{new.id}",)
    assert _state(nl)["key_id"] == new.id
    assert AuditLog(nl.path, signer=new).breaks == []
    (tmp_path / "new.pub").write_text(public_pem(new.public))
    code, out = verify(capsys, nl.path, "--public-key", str(nl.pem), "--public-key",
                       str(tmp_path / "new.pub"))  # fmt: skip
    assert code == 0 and f"{nl.key.id} -> {new.id} (recorded)" in out


def test_an_unreadable_head_state_is_logged_and_rewritten(tmp_path: Path) -> None:
    """audit.head overwritten with garbage: the log opens (audit.head_state_unreadable
    logged, no break claimed) and the next checkpoint writes a good one, 0600."""
    nl = node_log(tmp_path, seconds=30)
    nl.state.write_text("garbage")
    with structlog.testing.capture_logs() as logs:
        log = AuditLog(nl.path, signer=nl.key, clock=nl.clock)
    assert any(e["event"] == "audit.head_state_unreadable" for e in logs) and not log.breaks
    log.append("shared", "door_open", "x", "police", "1" * 64)
    log.checkpoint()
    assert _state(nl)["head"] == log.head and nl.state.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_a_node_started_on_an_emptied_or_deleted_log_runs_and_reports_it(
    tmp_path: Path, how: str
) -> None:
    """The node itself on an emptied or deleted log: it builds and starts (life safety
    first), its chain starts with chain_break, and its state and heartbeat carry
    audit_chain_break."""
    nl = node_log(tmp_path, seconds=60)
    if how == "emptied":
        os.truncate(nl.path, 0)
    else:
        nl.path.unlink()
    node = Node(nl.cfg)
    node.start()
    try:
        found = "empty" if how == "emptied" else "missing"
        assert lines(nl.path)[0]["action"] == "chain_break"
        assert f"audit_chain_break:{found}" in node.state().reasons
        assert f"audit_chain_break:{found}" in heartbeat.report(node)["reasons"]
    finally:
        node.stop()
