"""A damaged audit log at start (more than a torn last line) is set aside whole, never
rewritten, and a new chain records it: where it went, its sha256, why, and its last good
head; the new chain verifies and the set-aside file is byte for byte what was found."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from signingkey import write_signing_key

from edge.evidence.audit import AuditLog
from edge.evidence.audit_setaside import SET_ASIDE, open_audit
from edge.evidence.keys import NodeKey
from edge.evidence.verify import verify_log


def _log(path: Path, key: NodeKey, n: int) -> list[bytes]:
    audit = AuditLog(path, signer=key)
    for i in range(n):
        audit.append("delivered", "event", f"e{i}", "police", "0" * 64)
    audit.checkpoint(key)
    return path.read_bytes().splitlines(keepends=True)


def test_a_sound_log_opens_as_it_is(tmp_path: Path) -> None:
    """Nothing wrong: the log is opened, nothing is set aside."""
    key = NodeKey(write_signing_key(tmp_path))
    path = tmp_path / "audit.log"
    lines = _log(path, key, 3)
    audit, brk = open_audit(path, key)
    assert brk is None and audit.head == json.loads(lines[-1])["hash"]
    assert not list(tmp_path.glob("audit.log.damaged-*"))


def test_a_damaged_log_is_set_aside_and_a_new_chain_records_it(tmp_path: Path) -> None:
    """A record damaged before a torn last line: the file moves to audit.log.damaged-STAMP
    unchanged; the new chain holds the audit log's own chain_break (the head it had signed is
    gone) and log_set_aside naming the file, its sha256, the reason and the last good head;
    it verifies, and the old file verifies up to its damage."""
    key = NodeKey(write_signing_key(tmp_path))
    path = tmp_path / "audit.log"
    lines = _log(path, key, 10)
    damaged = lines[-2][:30] + b"x" * 30 + lines[-2][60:]
    found = b"".join([*lines[:-2], damaged, lines[-1][:20]])
    path.write_bytes(found)
    audit, brk = open_audit(path, key)
    assert brk is not None
    kept = brk.kept_as
    assert kept.name.startswith("audit.log.damaged-") and kept.read_bytes() == found
    records = [json.loads(x) for x in path.read_text().splitlines()]
    actions = [r["action"] for r in records]
    assert actions[0] == "chain_break"  # the audit log's own: the head it signed is gone
    aside = records[actions.index(SET_ASIDE)]
    assert aside["kept_as"] == kept.name and aside["id"] == kept.name
    assert aside["sha256"] == hashlib.sha256(found).hexdigest()
    assert "damaged before its last line" in aside["reason"]
    old = verify_log(kept)
    assert not old.ok and aside["good_records"] == old.records and aside["good_head"] == old.head
    assert brk.good_head == old.head
    audit.checkpoint(key)
    assert verify_log(path, [key.public]).ok
